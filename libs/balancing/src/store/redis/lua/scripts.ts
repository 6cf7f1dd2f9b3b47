import { SLOW_START_MIN_FRACTION } from '../../../core/policies';

/**
 * The Lua scripts, in one place. Each runs atomically inside Redis and reads the time from Redis
 * itself, so every gateway and the registry share one clock for deadlines.
 *
 * Conventions:
 * - Every script that changes a count takes the same first two keys (COUNT_KEYS): load, warming;
 *   and the backend key prefix (keys.ts, PoolKeys.backendPrefix) as ARGV[1]. A backend's hash
 *   (w, r, p, s, v, h:<holder>...) is that prefix followed by its id: scripts touch these keys
 *   without declaring them (they share the pool's hash slot: Redis Cluster is not supported today,
 *   and the shared slot keeps the door open).
 * - A backend's score in `load` is (max(inflight, reported) + pending) / weight, inflight being the
 *   sum of its h:<holder> fields: gateways' leases and the backend's own count see the same
 *   requests (so the larger wins), while pending redirect reservations are clients that have not
 *   arrived yet (so they add). Written with %.17g so Redis keeps the exact double. One HGETALL of
 *   the backend's hash is all `rescore` needs.
 * - Slow start is applied when a backend is rescored, not when it is picked: while its hash has
 *   `s` ("since,until"), its score is divided by the ramp factor on the Redis clock. Every reserve,
 *   release, report or heartbeat that touches it rescores it, and so does the registry's sweep.
 * - `ZADD XX` only rescores members already in `load`, so a draining backend (absent from `load`)
 *   is never put back by a release or a report.
 * - A script never writes to a backend's hash before it knows the hash exists (or means to create
 *   it), so a late release or claim on a removed backend leaves no stray hash behind.
 */

/** The Redis clock (ms), read at most once per script and only when needed. */
const CLOCK = `
local clockMs
local function now()
  if not clockMs then
    local t = redis.call('TIME')
    clockMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return clockMs
end
`;

const BACKEND = `${CLOCK}
-- Ids in ARGV from \`from\` on (an id may repeat: one per slot), in first-seen order, with their counts.
local function slotsFrom(from)
  local order, count = {}, {}
  for i = from, #ARGV do
    local id = ARGV[i]
    if not count[id] then
      order[#order + 1] = id
      count[id] = 0
    end
    count[id] = count[id] + 1
  end
  return order, count
end
local MIN_FRACTION = ${SLOW_START_MIN_FRACTION}
-- Undeclared key, same {pool} hash slot as KEYS (Redis Cluster is not supported today; the shared slot keeps the door open).
local function bkey(id) return ARGV[1] .. id end
-- A backend's hash (HGETALL, flat) -> its counts; w is nil when the backend is not registered.
local function tally(flat)
  local b = {r = 0, p = 0, inflight = 0, held = {}}
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    if string.sub(f, 1, 2) == 'h:' then
      local n = tonumber(v)
      b.inflight = b.inflight + n
      b.held[string.sub(f, 3)] = n
    elseif f == 'w' then b.w = tonumber(v)
    elseif f == 'r' then b.r = tonumber(v)
    elseif f == 'p' then b.p = tonumber(v)
    elseif f == 'v' then b.v = tonumber(v)
    elseif f == 's' then b.s = v
    end
  end
  return b
end
-- The score of b (a tally of id's hash, as it is now) in load, nil when it has no weight; ends a
-- finished ramp. The clock is read once per script, so the factor holds for the whole script.
local function scoreOf(id, b)
  local factor = 1
  if b.s then
    local since, untilMs = string.match(b.s, '^(%d+),(%d+)$')
    since, untilMs = tonumber(since), tonumber(untilMs)
    local t = now()
    if since == nil or t >= untilMs or untilMs <= since then
      redis.call('HDEL', bkey(id), 's')
      redis.call('SREM', KEYS[2], id)
      b.s = nil
    else
      factor = math.max(MIN_FRACTION, (t - since) / (untilMs - since))
    end
  end
  if not b.w or b.w <= 0 then return nil end
  return (math.max(b.inflight, b.r) + b.p) / b.w / factor
end
-- Writes the score of b (a tally of id's hash, as it is now) into load; ends a finished ramp.
local function rescore(id, b)
  local score = scoreOf(id, b)
  if score then redis.call('ZADD', KEYS[1], 'XX', string.format('%.17g', score), id) end
end
-- Only an active, healthy backend is in load (pickable); one that comes back keeps its counts.
local function place(id, pickable)
  if pickable then
    redis.call('ZADD', KEYS[1], 'NX', 0, id)
    rescore(id, tally(redis.call('HGETALL', bkey(id))))
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
-- One pending redirect reservation of id is settled; a claim also records the backend's count.
local function unpend(id, claimedActive)
  local key = bkey(id)
  local b = tally(redis.call('HGETALL', key))
  if b.p > 0 then
    if b.p == 1 then redis.call('HDEL', key, 'p') else redis.call('HINCRBY', key, 'p', -1) end
    b.p = b.p - 1
  end
  if claimedActive and b.w then
    redis.call('HSET', key, 'r', claimedActive)
    b.r = tonumber(claimedActive)
  end
  rescore(id, b)
end
`;

export interface ScriptDefinition {
  readonly numberOfKeys: number;
  readonly lua: string;
}

/**
 * KEYS: COUNT_KEYS, turn, pendingTokens, pendingExpiry
 * ARGV: backend key prefix, holder, policy, random1 in [0, 1), random2 in [0, 1), pending token id
 *       ('' for a lease), pending ttl ms, excluded ids...
 * The Redis spelling of core/policies.ts: among active, not excluded backends choose by the policy
 * and count one more slot on the choice. A lapsed liveness deadline does not exclude a backend:
 * the registry judges lapses (it knows whether it could record beats) and evicts. The scores in
 * `load` already carry any slow start ramp, so a pick reads `load` and nothing else.
 * Least-connections scans `load` from the lowest score and stops at the first score above the
 * best, so a pick touches only the head of the set. A lease is one more slot in the backend's
 * h:<holder> field (reaped if the gateway dies); a pending reservation (redirect mode) is counted
 * in its `p` and kept under its token id with an expiry: the backend claims it when the client
 * arrives, or it lapses. Returns {id, record version} (the caller reads the record only when its
 * version is new to it) or false. Common path: ZRANGE, HINCRBY, HGETALL, ZADD.
 */
export const reserve: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${BACKEND}
local holder, policy, r1, r2 = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local pendingToken, pendingTtl = ARGV[6], tonumber(ARGV[7])
local excluded = {}
for i = 8, #ARGV do excluded[ARGV[i]] = true end

local chosen
if policy == 'least-connections' then
  local best, bestScore = {}, nil
  local offset, batch, done = 0, 32, false
  while not done do
    local rows = redis.call('ZRANGE', KEYS[1], offset, offset + batch - 1, 'WITHSCORES')
    done = #rows < 2 * batch
    for i = 1, #rows, 2 do
      local id, score = rows[i], tonumber(rows[i + 1])
      if bestScore ~= nil and score > bestScore then done = true; break end
      if not excluded[id] then
        if bestScore == nil or score < bestScore then best, bestScore = {id}, score
        else best[#best + 1] = id end
      end
    end
    offset = offset + batch
  end
  if #best > 0 then chosen = best[math.min(#best, math.floor(r1 * #best) + 1)] end
else
  local ids, scores = {}, {}
  local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #rows, 2 do
    local id = rows[i]
    if not excluded[id] then
      ids[#ids + 1] = id
      scores[id] = tonumber(rows[i + 1])
    end
  end
  if #ids == 1 then
    chosen = ids[1]
  elseif #ids > 1 and policy == 'power-of-two' then
    local i = math.floor(r1 * #ids) + 1
    local j = math.floor(r2 * (#ids - 1)) + 1
    if j >= i then j = j + 1 end
    chosen = ids[i]
    if scores[ids[j]] < scores[chosen] then chosen = ids[j] end
  elseif #ids > 1 then
    table.sort(ids)
    chosen = ids[((redis.call('INCR', KEYS[3]) - 1) % #ids) + 1]
  end
end
if not chosen then return false end
local key = bkey(chosen)
if pendingToken ~= '' then
  redis.call('HINCRBY', key, 'p', 1)
  redis.call('HSET', KEYS[4], pendingToken, chosen)
  redis.call('ZADD', KEYS[5], now() + pendingTtl, pendingToken)
else
  redis.call('HINCRBY', key, 'h:' .. holder, 1)
end
local b = tally(redis.call('HGETALL', key))
rescore(chosen, b)
return {chosen, b.v or 0}
`,
};

/**
 * KEYS: COUNT_KEYS
 * ARGV: backend key prefix, holder, n (at least 1), then n random numbers in [0, 1) (one per pick's
 *       tie-break), then ids to release (one per slot; an id may repeat; none is fine)
 * First counts off the holder's releases that rode along (by the rules of `release`: only what
 * the holder still holds, nothing negative, nothing written to a removed backend's hash), then
 * makes n least-connections leases for the holder, picked in order, each seeing the releases and
 * the picks before it, so each is the least-loaded backend at its moment (the script is atomic
 * across gateways): the reserves of one event-loop turn that can share a call (no exclusions, no
 * pending reservation), with the releases waiting for them.
 * Reads the head of `load` a window at a time into a table id -> score and picks from the table:
 * members not read yet score at least the last score read, so another window is read only while
 * the best of the table could tie with one of them or lose to it (as reserve, ties are all
 * gathered). A release can move a backend beyond the head below that bound, so when the first
 * window does not hold all of `load`, one ZMSCORE tells which released backends beyond it are
 * members, and they join the table. `load` is written only at the end, so the windows stay in
 * place. A backend's hash is read the first time it is touched (released or picked); its score
 * then follows each slot locally (the same formula as rescore). At the end, per distinct backend
 * touched: one write of h:<holder> by the net change (HINCRBY, HDEL when none is left, nothing when
 * the net change is 0) and one ZADD XX, only for a member of `load` (a drained one stays out).
 * Returns {ids picked, in order (empty when load is), {id, record version, ...} per distinct id picked}.
 * Cost: ZRANGE (one per window read) + HGETALL, at most one write, ZADD per distinct backend
 * touched (+ one ZMSCORE when released backends lie beyond the first window of a pool of more).
 */
export const reserveMany: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${BACKEND}
local holder, n = ARGV[2], tonumber(ARGV[3])
local field = 'h:' .. holder
local WINDOW = 32
local ids, score = {}, {}
local offset, covered, edge = 0, false, nil
local function readWindow()
  local rows = redis.call('ZRANGE', KEYS[1], offset, offset + WINDOW - 1, 'WITHSCORES')
  covered = #rows < 2 * WINDOW
  offset = offset + WINDOW
  for i = 1, #rows, 2 do
    local id = rows[i]
    -- A released backend found beyond the head (ZMSCORE) is in the table already, with its new score.
    if not score[id] then
      ids[#ids + 1] = id
      score[id] = tonumber(rows[i + 1])
    end
  end
  if #rows > 0 then edge = tonumber(rows[#rows]) end
end
-- Every backend touched: its tally (one HGETALL), the net change of the holder's slots on it, and
-- whether its score changed (a slot released or picked).
local order, tallies, delta, moved = {}, {}, {}, {}
local function touch(id)
  local b = tallies[id]
  if not b then
    b = tally(redis.call('HGETALL', bkey(id)))
    tallies[id] = b
    delta[id] = 0
    order[#order + 1] = id
  end
  return b
end

readWindow()
local releasing, count = slotsFrom(4 + n)
local beyond, beyondScore = {}, {}
for _, id in ipairs(releasing) do
  local b = touch(id)
  local held = b.held[holder] or 0
  local k = math.min(count[id], held)
  if k > 0 then
    b.held[holder] = held - k
    b.inflight = b.inflight - k
    delta[id] = -k
    moved[id] = true
    local s = scoreOf(id, b)
    if score[id] then score[id] = s or score[id]
    elseif s and not covered then
      beyond[#beyond + 1] = id
      beyondScore[id] = s
    end
  end
end
if #beyond > 0 then
  local found = redis.call('ZMSCORE', KEYS[1], unpack(beyond))
  for i, id in ipairs(beyond) do
    if found[i] then
      ids[#ids + 1] = id
      score[id] = beyondScore[id]
    end
  end
end

local picks = {}
if #ids > 0 then
  for j = 1, n do
    local best, bestScore
    repeat
      best, bestScore = {}, nil
      for _, id in ipairs(ids) do
        local s = score[id]
        if bestScore == nil or s < bestScore then best, bestScore = {id}, s
        elseif s == bestScore then best[#best + 1] = id end
      end
      local more = not covered and bestScore >= edge
      if more then readWindow() end
    until not more
    local id = best[math.min(#best, math.floor(tonumber(ARGV[3 + j]) * #best) + 1)]
    picks[j] = id
    local b = touch(id)
    b.held[holder] = (b.held[holder] or 0) + 1
    b.inflight = b.inflight + 1
    delta[id] = delta[id] + 1
    moved[id] = true
    score[id] = scoreOf(id, b) or score[id]
  end
end

local versions, picked = {}, {}
for _, id in ipairs(picks) do
  if not picked[id] then
    picked[id] = true
    versions[#versions + 1] = id
    versions[#versions + 1] = tallies[id].v or 0
  end
end
for _, id in ipairs(order) do
  local b, d = tallies[id], delta[id]
  if d > 0 or (d < 0 and b.held[holder] > 0) then redis.call('HINCRBY', bkey(id), field, d)
  elseif d < 0 then redis.call('HDEL', bkey(id), field) end
  -- Only a member of load (every backend in the table is one); without a weight its score stays (as rescore leaves it).
  if moved[id] and score[id] and b.w and b.w > 0 then
    redis.call('ZADD', KEYS[1], 'XX', string.format('%.17g', score[id]), id)
  end
end
return {picks, versions}
`,
};

/**
 * KEYS: COUNT_KEYS
 * ARGV: backend key prefix, holder, ids... (one per slot to release; an id may repeat)
 * Counts slots off, each only if the holder still holds one (its slots may have been reaped, or
 * the backend removed): repeats are added up first, then per distinct backend one HGETALL, one
 * HINCRBY (or HDEL when nothing is left), one ZADD. Nothing goes negative. The gateway sends
 * releases with its next pick (reserveMany) when one comes soon, and otherwise on their own with
 * this script. Returns the number of slots released.
 */
export const release: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${BACKEND}
local holder = ARGV[2]
local field = 'h:' .. holder
local order, count = slotsFrom(3)
local released = 0
for _, id in ipairs(order) do
  local key = bkey(id)
  local b = tally(redis.call('HGETALL', key))
  local held = b.held[holder] or 0
  local n = math.min(count[id], held)
  if n > 0 then
    if n == held then redis.call('HDEL', key, field) else redis.call('HINCRBY', key, field, -n) end
    b.inflight = b.inflight - n
    rescore(id, b)
    released = released + n
  end
end
return released
`,
};

/**
 * KEYS: COUNT_KEYS
 * ARGV: backend key prefix, id, active
 * Returns 1, or 0 for a backend that is not registered.
 */
export const report: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${BACKEND}
local id = ARGV[2]
local b = tally(redis.call('HGETALL', bkey(id)))
if not b.w then return 0 end
redis.call('HSET', bkey(id), 'r', ARGV[3])
b.r = tonumber(ARGV[3])
rescore(id, b)
return 1
`,
};

/** The record of `id` was written: a new version (a fresh hash starts from the clock, see register). */
const BUMP_VERSION = `
local function bumpVersion(id)
  if redis.call('HINCRBY', bkey(id), 'v', 1) == 1 then
    local t = redis.call('TIME')
    redis.call('HSET', bkey(id), 'v', t[1] .. string.format('%06d', tonumber(t[2])))
  end
end
`;

/**
 * KEYS: COUNT_KEYS, backends, alive, health, holders
 * ARGV: backend key prefix, id, record JSON, weight, ttl ms, state, slow start ms (0: none),
 *       health ('up' | 'down')
 * Adds or replaces a backend, keeping the counts of one registered before (or reconciled before it
 * registered: slots of holders reaped since are dropped), and starts its slow start ramp on the
 * Redis clock (or ends one). Bumps the record version; a hash that is new gets the clock in µs as
 * its first version, so a version never repeats one a gateway cached before a removal or a lost
 * Redis. Only an active, healthy backend is in `load` (pickable). Returns the liveness deadline.
 */
export const register: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `${BACKEND}${BUMP_VERSION}
local id = ARGV[2]
local key = bkey(id)
if redis.call('HEXISTS', key, 'w') == 0 then
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, 2) == 'h:' and not redis.call('ZSCORE', KEYS[6], string.sub(f, 3)) then redis.call('HDEL', key, f) end
  end
end
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSET', key, 'w', ARGV[4])
bumpVersion(id)
redis.call('HSET', KEYS[5], id, ARGV[8])
local slowStart = tonumber(ARGV[7])
if slowStart > 0 then
  redis.call('HSET', key, 's', now() .. ',' .. (now() + slowStart))
  redis.call('SADD', KEYS[2], id)
else
  redis.call('HDEL', key, 's')
  redis.call('SREM', KEYS[2], id)
end
place(id, ARGV[6] == 'active' and ARGV[8] == 'up')
local deadline = now() + tonumber(ARGV[5])
redis.call('ZADD', KEYS[4], deadline, id)
return deadline
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: backend key prefix, id, ttl ms, active ('' when not reported)
 * Rescores the backend when it reports, or when it is in slow start (its ramp moves on).
 * Returns the new deadline, or -1 for an unknown backend (it must register again).
 */
export const heartbeat: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${BACKEND}
local id = ARGV[2]
if redis.call('HEXISTS', KEYS[3], id) == 0 then return -1 end
local deadline = now() + tonumber(ARGV[3])
redis.call('ZADD', KEYS[4], deadline, id)
if ARGV[4] ~= '' then
  redis.call('HSET', bkey(id), 'r', ARGV[4])
  rescore(id, tally(redis.call('HGETALL', bkey(id))))
elseif redis.call('SISMEMBER', KEYS[2], id) == 1 then
  rescore(id, tally(redis.call('HGETALL', bkey(id))))
end
return deadline
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: backend key prefix, id, record JSON with the new state, state
 * Draining takes the backend out of `load` (no new picks); activating ranks it again, if healthy.
 * Bumps the record version.
 */
export const setState: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${BACKEND}${BUMP_VERSION}
local id = ARGV[2]
if redis.call('HEXISTS', KEYS[3], id) == 0 then return 0 end
redis.call('HSET', KEYS[3], id, ARGV[3])
bumpVersion(id)
place(id, ARGV[4] == 'active' and redis.call('HGET', KEYS[5], id) ~= 'down')
return 1
`,
};

const REMOVE = `
local function remove(id)
  local existed = redis.call('HDEL', KEYS[3], id)
  redis.call('DEL', bkey(id))
  redis.call('ZREM', KEYS[1], id)
  redis.call('SREM', KEYS[2], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  return existed
end
`;

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: backend key prefix, id, 'up' | 'down'
 * The verdict of the health checks: a backend that is down leaves `load` (no gateway picks it);
 * one that is up again (and active) comes back, at its current load. Returns 1 if the backend is
 * known.
 */
export const setHealth: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${BACKEND}
local id = ARGV[2]
local json = redis.call('HGET', KEYS[3], id)
if not json then return 0 end
redis.call('HSET', KEYS[5], id, ARGV[3])
place(id, ARGV[3] == 'up' and cjson.decode(json).state == 'active')
return 1
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: backend key prefix, id
 * Returns 1 if the backend was registered.
 */
export const remove: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${BACKEND}${REMOVE}
return remove(ARGV[2])
`,
};

/**
 * KEYS: backends, alive, health
 * ARGV: backend key prefix, id ('' for every backend of the pool)
 * What list() and get() show, in one call: per registered backend {id, record JSON, liveness
 * deadline, health, inflight (the sum of its h:<holder> fields), reported, pending}.
 */
export const view: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `
local function bkey(id) return ARGV[1] .. id end
local records = {}
if ARGV[2] ~= '' then
  local json = redis.call('HGET', KEYS[1], ARGV[2])
  if json then records = {ARGV[2], json} end
else
  records = redis.call('HGETALL', KEYS[1])
end
local rows = {}
for i = 1, #records, 2 do
  local id = records[i]
  local inflight, reported, pending = 0, 0, 0
  local flat = redis.call('HGETALL', bkey(id))
  for j = 1, #flat, 2 do
    local f = flat[j]
    if string.sub(f, 1, 2) == 'h:' then inflight = inflight + tonumber(flat[j + 1])
    elseif f == 'r' then reported = flat[j + 1]
    elseif f == 'p' then pending = flat[j + 1] end
  end
  rows[#rows + 1] = {id, records[i + 1], redis.call('ZSCORE', KEYS[2], id) or '0', redis.call('HGET', KEYS[3], id) or 'up',
    tostring(inflight), tostring(reported), tostring(pending)}
end
return rows
`,
};

/**
 * KEYS: backends, alive
 * Backends whose deadline has passed, oldest first, as {id, deadline, ...}, then the pool's size
 * as the last element.
 */
export const lapsed: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${CLOCK}
local rows = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now(), 'WITHSCORES')
rows[#rows + 1] = redis.call('HLEN', KEYS[1])
return rows
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: backend key prefix, ids...
 * Removes each backend whose deadline is still lapsed (one that beat since the registry looked is
 * kept); returns the ids removed.
 */
export const evict: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${BACKEND}${REMOVE}
local evicted = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local deadline = tonumber(redis.call('ZSCORE', KEYS[4], id) or '-1')
  if deadline >= 0 and deadline < now() then
    remove(id)
    evicted[#evicted + 1] = id
  end
end
return evicted
`,
};

/**
 * KEYS: alive
 * ARGV: ttl ms, ids...
 * A new deadline for each backend that is still lapsed (the registry could not record its beats).
 */
export const extendLiveness: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${CLOCK}
local extended = 0
for i = 2, #ARGV do
  local deadline = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]) or '-1')
  if deadline >= 0 and deadline < now() then
    redis.call('ZADD', KEYS[1], now() + tonumber(ARGV[1]), ARGV[i])
    extended = extended + 1
  end
end
return extended
`,
};

/**
 * KEYS: holders
 * ARGV: holder, ttl ms
 * Returns 1 when the holder was known, 0 when this beat added it (its lease table may be gone).
 */
export const beatHolder: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${CLOCK}
return 1 - redis.call('ZADD', KEYS[1], now() + tonumber(ARGV[2]), ARGV[1])
`,
};

/**
 * KEYS: COUNT_KEYS, backends, holders
 * ARGV: backend key prefix, holder, ttl ms, number of pairs, then id, slots pairs (what the
 *       holder holds now), then more ids that may carry a field of the holder (ids it held before)
 * Replaces the holder's lease table (its h:<holder> field on every backend of the pool: registered
 * ones, the ones it names, and the ones it held before, even when not registered yet, so their
 * slots count once they register) and rescores each backend whose field changed; the other
 * holders' slots stay as they are. Replace, never add: slots the store remembers from before a
 * restart or a failover, or that a lost release left behind, go; slots taken while the store was
 * away come in. Also beats. Returns how many backends it looked at.
 */
export const reconcile: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `${BACKEND}
local holder = ARGV[2]
local field = 'h:' .. holder
local want, ids, seen = {}, {}, {}
local function look(id)
  if not seen[id] then
    seen[id] = true
    ids[#ids + 1] = id
  end
end
local pairsEnd = 4 + 2 * tonumber(ARGV[4])
for i = 5, pairsEnd, 2 do
  want[ARGV[i]] = tonumber(ARGV[i + 1])
  look(ARGV[i])
end
for i = pairsEnd + 1, #ARGV do look(ARGV[i]) end
for _, id in ipairs(redis.call('HKEYS', KEYS[3])) do look(id) end
for _, id in ipairs(ids) do
  local key = bkey(id)
  local had, n = tonumber(redis.call('HGET', key, field) or '0'), want[id] or 0
  if n ~= had then
    if n > 0 then redis.call('HSET', key, field, n) else redis.call('HDEL', key, field) end
    rescore(id, tally(redis.call('HGETALL', key)))
  end
end
redis.call('ZADD', KEYS[4], now() + tonumber(ARGV[3]), holder)
return #ids
`,
};

/**
 * KEYS: holders
 * Holders whose deadline has passed.
 */
export const lapsedHolders: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${CLOCK}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now())
`,
};

/**
 * KEYS: COUNT_KEYS, holders, backends
 * ARGV: backend key prefix, holder
 * Gives back every slot a lapsed holder (a crashed gateway) still holds: its h:<holder> field on
 * every backend of the pool. Re-checks the deadline so a holder that beat again since
 * lapsedHolders ran keeps its leases.
 */
export const reapHolder: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `${BACKEND}
if tonumber(redis.call('ZSCORE', KEYS[3], ARGV[2]) or '-1') >= now() then return 0 end
local field = 'h:' .. ARGV[2]
for _, id in ipairs(redis.call('HKEYS', KEYS[4])) do
  if redis.call('HDEL', bkey(id), field) == 1 then rescore(id, tally(redis.call('HGETALL', bkey(id)))) end
end
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
`,
};

/**
 * KEYS: COUNT_KEYS
 * ARGV: backend key prefix
 * Rescores the backends in slow start, so an idle one's score keeps up with its ramp (the
 * registry's sweep); a ramp that is over ends. Returns how many were in slow start.
 */
export const rescoreWarming: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${BACKEND}
local ids = redis.call('SMEMBERS', KEYS[2])
for _, id in ipairs(ids) do
  local b = tally(redis.call('HGETALL', bkey(id)))
  if b.s then rescore(id, b) else redis.call('SREM', KEYS[2], id) end
end
return #ids
`,
};

/**
 * KEYS: COUNT_KEYS, pendingTokens, pendingExpiry
 * ARGV: backend key prefix, token id, backend id ('' to cancel from the gateway side),
 *       'claim' | 'cancel', active
 * Settles one pending reservation exactly once (HDEL decides). A claim comes from the backend the
 * token was issued for when the client arrives, with its own count (which includes that client):
 * the slot moves from pending to the backend's count in one step, never counted twice or not at
 * all in between. Returns 1 when this call settled it, 0 when it was unknown (already claimed: a
 * replay; lapsed; or issued for another backend).
 */
export const settlePending: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `${BACKEND}
local token, backend, mode = ARGV[2], ARGV[3], ARGV[4]
local id = redis.call('HGET', KEYS[3], token)
if not id or (backend ~= '' and id ~= backend) then return 0 end
redis.call('HDEL', KEYS[3], token)
redis.call('ZREM', KEYS[4], token)
unpend(id, mode == 'claim' and ARGV[5] or nil)
return 1
`,
};

/**
 * KEYS: COUNT_KEYS, pendingTokens, pendingExpiry
 * ARGV: backend key prefix
 * Gives back pending reservations whose client never came. Returns how many.
 */
export const expirePending: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `${BACKEND}
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. now())
for _, token in ipairs(lapsed) do
  local id = redis.call('HGET', KEYS[3], token)
  redis.call('HDEL', KEYS[3], token)
  redis.call('ZREM', KEYS[4], token)
  if id then unpend(id, nil) end
end
return #lapsed
`,
};

export const SCRIPTS = {
  reserve,
  reserveMany,
  release,
  report,
  register,
  heartbeat,
  setState,
  setHealth,
  remove,
  view,
  lapsed,
  evict,
  extendLiveness,
  beatHolder,
  reconcile,
  lapsedHolders,
  reapHolder,
  rescoreWarming,
  settlePending,
  expirePending,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
