/**
 * The Lua scripts, in one place. Each runs atomically inside Redis and reads the time from Redis
 * itself, so every gateway and the registry share one clock for deadlines.
 *
 * Conventions:
 * - Every script that changes a count takes the same first five keys (COUNT_KEYS): load, inflight,
 *   reported, weight, pendingCount; `rescore(id)` reads them.
 * - A backend's score in `load` is (max(inflight, reported) + pending) / weight: gateways' leases
 *   and the backend's own count see the same requests (so the larger wins), while pending redirect
 *   reservations are clients that have not arrived yet (so they add). Written with %.17g so Redis
 *   keeps the exact double.
 * - `ZADD XX` only rescores members already in `load`, so a draining backend (absent from `load`)
 *   is never put back by a release or a report.
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const RESCORE = `
local function rescore(id)
  local weight = tonumber(redis.call('HGET', KEYS[4], id) or '0')
  if weight <= 0 then return end
  local inflight = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  local reported = tonumber(redis.call('HGET', KEYS[3], id) or '0')
  local pending = tonumber(redis.call('HGET', KEYS[5], id) or '0')
  redis.call('ZADD', KEYS[1], 'XX', string.format('%.17g', (math.max(inflight, reported) + pending) / weight), id)
end
local function decrement(key, id, by)
  if redis.call('HINCRBY', key, id, -by) <= 0 then redis.call('HDEL', key, id) end
end
-- Only an active, healthy backend is in load (pickable); one that comes back keeps its counts.
local function place(id, pickable)
  if pickable then
    redis.call('ZADD', KEYS[1], 'NX', 0, id)
    rescore(id)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
`;

export interface ScriptDefinition {
  readonly numberOfKeys: number;
  readonly lua: string;
}

/**
 * KEYS: COUNT_KEYS, backends, leases(holder), warmup, turn, pendingTokens, pendingExpiry
 * ARGV: policy, random1 in [0, 1), random2 in [0, 1), minFraction, pending token id ('' for a
 *       lease), pending ttl ms, excluded ids...
 * The Redis spelling of core/policies.ts: among active, not excluded backends choose by the policy
 * and count one more slot on the choice. A lapsed liveness deadline does not exclude a backend:
 * the registry judges lapses (it knows whether it could record beats) and evicts. A backend in
 * slow start (`warmup`: id -> "since,until") is compared at its score divided by its ramp factor.
 * Least-connections scans `load` from the lowest score and stops at the first score above the
 * best, so a pick touches only the head of the set. A lease is recorded in the holder's lease
 * table (reaped if the gateway dies); a pending reservation (redirect mode) under its token id with
 * an expiry: the backend claims it when the client arrives, or it lapses. Returns {id, record JSON}
 * or false.
 */
export const reserve: ScriptDefinition = {
  numberOfKeys: 11,
  lua: `${NOW}${RESCORE}
local policy, r1, r2, minFraction = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local pendingToken, pendingTtl = ARGV[5], tonumber(ARGV[6])
local excluded = {}
for i = 7, #ARGV do excluded[ARGV[i]] = true end
-- Backends in slow start: id -> ramp factor in [minFraction, 1). Finished ramps are dropped.
local warming, anyWarming = {}, false
local ramps = redis.call('HGETALL', KEYS[8])
for i = 1, #ramps, 2 do
  local since, untilMs = string.match(ramps[i + 1], '^(%d+),(%d+)$')
  since, untilMs = tonumber(since), tonumber(untilMs)
  if untilMs == nil or now >= untilMs then
    redis.call('HDEL', KEYS[8], ramps[i])
  else
    warming[ramps[i]] = math.max(minFraction, (now - since) / (untilMs - since))
    anyWarming = true
  end
end

local chosen
if policy == 'least-connections' then
  local best, bestScore = {}, nil
  local function consider(id, score)
    if bestScore == nil or score < bestScore then best, bestScore = {id}, score
    elseif score == bestScore then best[#best + 1] = id end
  end
  if anyWarming then
    for id, factor in pairs(warming) do
      local score = redis.call('ZSCORE', KEYS[1], id)
      if score and not excluded[id] then consider(id, tonumber(score) / factor) end
    end
  end
  local offset, batch, done = 0, 32, false
  while not done do
    local rows = redis.call('ZRANGE', KEYS[1], offset, offset + batch - 1, 'WITHSCORES')
    if #rows == 0 then break end
    for i = 1, #rows, 2 do
      local id, score = rows[i], tonumber(rows[i + 1])
      if bestScore ~= nil and score > bestScore then done = true; break end
      if not warming[id] and not excluded[id] then consider(id, score) end
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
      scores[id] = tonumber(rows[i + 1]) / (warming[id] or 1)
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
    chosen = ids[((redis.call('INCR', KEYS[9]) - 1) % #ids) + 1]
  end
end
if not chosen then return false end
if pendingToken ~= '' then
  redis.call('HINCRBY', KEYS[5], chosen, 1)
  redis.call('HSET', KEYS[10], pendingToken, chosen)
  redis.call('ZADD', KEYS[11], now + pendingTtl, pendingToken)
else
  redis.call('HINCRBY', KEYS[2], chosen, 1)
  redis.call('HINCRBY', KEYS[7], chosen, 1)
end
rescore(chosen)
return {chosen, redis.call('HGET', KEYS[6], chosen)}
`,
};

/**
 * KEYS: COUNT_KEYS, leases(holder)
 * ARGV: ids... (one per slot to release; an id may repeat)
 * Counts slots off, each only if the holder still holds one (its leases may have been reaped).
 * The gateway batches the releases of one event-loop turn into one call.
 */
export const release: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `${RESCORE}
local released = 0
for _, id in ipairs(ARGV) do
  if tonumber(redis.call('HGET', KEYS[6], id) or '0') > 0 then
    decrement(KEYS[6], id, 1)
    decrement(KEYS[2], id, 1)
    rescore(id)
    released = released + 1
  end
end
return released
`,
};

/**
 * KEYS: COUNT_KEYS
 * ARGV: id, active
 */
export const report: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${RESCORE}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[4], id) == 0 then return 0 end
redis.call('HSET', KEYS[3], id, ARGV[2])
rescore(id)
return 1
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health, warmup
 * ARGV: id, record JSON, weight, ttl ms, state, slow start ms (0: none), health ('up' | 'down')
 * Adds or replaces a backend, keeping the counts of one registered before, and starts its slow
 * start ramp on the Redis clock. Only an active, healthy backend is in `load` (pickable).
 * Returns the liveness deadline.
 */
export const register: ScriptDefinition = {
  numberOfKeys: 9,
  lua: `${NOW}${RESCORE}
local id = ARGV[1]
redis.call('HSET', KEYS[6], id, ARGV[2])
redis.call('HSET', KEYS[4], id, ARGV[3])
redis.call('HSET', KEYS[8], id, ARGV[7])
place(id, ARGV[5] == 'active' and ARGV[7] == 'up')
local slowStart = tonumber(ARGV[6])
if slowStart > 0 then
  redis.call('HSET', KEYS[9], id, now .. ',' .. (now + slowStart))
else
  redis.call('HDEL', KEYS[9], id)
end
local deadline = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[7], deadline, id)
return deadline
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: id, ttl ms, active ('' when not reported)
 * Returns the new deadline, or -1 for an unknown backend (it must register again).
 */
export const heartbeat: ScriptDefinition = {
  numberOfKeys: 8,
  lua: `${NOW}${RESCORE}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[6], id) == 0 then return -1 end
local deadline = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[7], deadline, id)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], id, ARGV[3])
  rescore(id)
end
return deadline
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: id, record JSON with the new state, state
 * Draining takes the backend out of `load` (no new picks); activating ranks it again, if healthy.
 */
export const setState: ScriptDefinition = {
  numberOfKeys: 8,
  lua: `${RESCORE}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[6], id) == 0 then return 0 end
redis.call('HSET', KEYS[6], id, ARGV[2])
place(id, ARGV[3] == 'active' and redis.call('HGET', KEYS[8], id) ~= 'down')
return 1
`,
};

const REMOVE = `
local function remove(id)
  local existed = redis.call('HDEL', KEYS[6], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[7], id)
  redis.call('HDEL', KEYS[8], id)
  return existed
end
`;

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: id, 'up' | 'down'
 * The verdict of the health checks: a backend that is down leaves `load` (no gateway picks it);
 * one that is up again (and active) comes back, at its current load. Returns 1 if the backend is
 * known.
 */
export const setHealth: ScriptDefinition = {
  numberOfKeys: 8,
  lua: `${RESCORE}
local id = ARGV[1]
local json = redis.call('HGET', KEYS[6], id)
if not json then return 0 end
redis.call('HSET', KEYS[8], id, ARGV[2])
place(id, ARGV[2] == 'up' and cjson.decode(json).state == 'active')
return 1
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: id
 */
export const remove: ScriptDefinition = {
  numberOfKeys: 8,
  lua: `${REMOVE}
return remove(ARGV[1])
`,
};

/**
 * KEYS: backends, alive
 * Backends whose deadline has passed, oldest first, as {id, deadline, ...}, then the pool's size
 * as the last element.
 */
export const lapsed: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${NOW}
local rows = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now, 'WITHSCORES')
rows[#rows + 1] = redis.call('HLEN', KEYS[1])
return rows
`,
};

/**
 * KEYS: COUNT_KEYS, backends, alive, health
 * ARGV: ids...
 * Removes each backend whose deadline is still lapsed (one that beat since the registry looked is
 * kept); returns the ids removed.
 */
export const evict: ScriptDefinition = {
  numberOfKeys: 8,
  lua: `${NOW}${REMOVE}
local evicted = {}
for _, id in ipairs(ARGV) do
  local deadline = tonumber(redis.call('ZSCORE', KEYS[7], id) or '-1')
  if deadline >= 0 and deadline < now then
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
  lua: `${NOW}
local extended = 0
for i = 2, #ARGV do
  local deadline = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]) or '-1')
  if deadline >= 0 and deadline < now then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
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
  lua: `${NOW}
return 1 - redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
`,
};

/**
 * KEYS: COUNT_KEYS, holders, leases(holder)
 * ARGV: holder, ttl ms, then id, slots pairs: what the holder holds now
 * Replaces the holder's lease table and moves each backend's gateway count by the difference
 * between what the table said and what the holder says, so the other holders' slots stay as they
 * are. Replace, never add: slots the store remembers from before a restart or a failover, or that
 * a lost release left behind, go; slots taken while the store was away come in. Also beats.
 */
export const reconcile: ScriptDefinition = {
  numberOfKeys: 7,
  lua: `${NOW}${RESCORE}
local want, touched = {}, {}
for i = 3, #ARGV, 2 do
  want[ARGV[i]] = tonumber(ARGV[i + 1])
  touched[#touched + 1] = ARGV[i]
end
local had = {}
local rows = redis.call('HGETALL', KEYS[7])
for i = 1, #rows, 2 do
  had[rows[i]] = tonumber(rows[i + 1])
  if not want[rows[i]] then touched[#touched + 1] = rows[i] end
end
redis.call('DEL', KEYS[7])
for _, id in ipairs(touched) do
  local n = want[id] or 0
  local delta = n - (had[id] or 0)
  if delta ~= 0 then
    if redis.call('HINCRBY', KEYS[2], id, delta) <= 0 then redis.call('HDEL', KEYS[2], id) end
    rescore(id)
  end
  if n > 0 then redis.call('HSET', KEYS[7], id, n) end
end
redis.call('ZADD', KEYS[6], now + tonumber(ARGV[2]), ARGV[1])
return #touched
`,
};

/**
 * KEYS: holders
 * Holders whose deadline has passed.
 */
export const lapsedHolders: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
`,
};

/**
 * KEYS: COUNT_KEYS, holders, leases(holder)
 * ARGV: holder
 * Gives back every slot a lapsed holder (a crashed gateway) still holds. Re-checks the deadline so
 * a holder that beat again since lapsedHolders ran keeps its leases.
 */
export const reapHolder: ScriptDefinition = {
  numberOfKeys: 7,
  lua: `${NOW}${RESCORE}
if tonumber(redis.call('ZSCORE', KEYS[6], ARGV[1]) or '-1') >= now then return 0 end
local held = redis.call('HGETALL', KEYS[7])
for i = 1, #held, 2 do
  decrement(KEYS[2], held[i], tonumber(held[i + 1]))
  rescore(held[i])
end
redis.call('DEL', KEYS[7])
redis.call('ZREM', KEYS[6], ARGV[1])
return 1
`,
};

/**
 * KEYS: COUNT_KEYS, pendingTokens, pendingExpiry
 * ARGV: token id, backend id ('' to cancel from the gateway side), 'claim' | 'cancel', active
 * Settles one pending reservation exactly once (HDEL decides). A claim comes from the backend the
 * token was issued for when the client arrives, with its own count (which includes that client):
 * the slot moves from pending to the backend's count in one step, never counted twice or not at
 * all in between. Returns 1 when this call settled it, 0 when it was unknown (already claimed: a
 * replay; lapsed; or issued for another backend).
 */
export const settlePending: ScriptDefinition = {
  numberOfKeys: 7,
  lua: `${RESCORE}
local token, backend, mode = ARGV[1], ARGV[2], ARGV[3]
local id = redis.call('HGET', KEYS[6], token)
if not id or (backend ~= '' and id ~= backend) then return 0 end
redis.call('HDEL', KEYS[6], token)
redis.call('ZREM', KEYS[7], token)
decrement(KEYS[5], id, 1)
if mode == 'claim' and redis.call('HEXISTS', KEYS[4], id) == 1 then redis.call('HSET', KEYS[3], id, ARGV[4]) end
rescore(id)
return 1
`,
};

/**
 * KEYS: COUNT_KEYS, pendingTokens, pendingExpiry
 * Gives back pending reservations whose client never came. Returns how many.
 */
export const expirePending: ScriptDefinition = {
  numberOfKeys: 7,
  lua: `${NOW}${RESCORE}
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', '(' .. now)
for _, token in ipairs(lapsed) do
  local id = redis.call('HGET', KEYS[6], token)
  redis.call('HDEL', KEYS[6], token)
  redis.call('ZREM', KEYS[7], token)
  if id then
    decrement(KEYS[5], id, 1)
    rescore(id)
  end
end
return #lapsed
`,
};

export const SCRIPTS = {
  reserve,
  release,
  report,
  register,
  heartbeat,
  setState,
  setHealth,
  remove,
  lapsed,
  evict,
  extendLiveness,
  beatHolder,
  reconcile,
  lapsedHolders,
  reapHolder,
  settlePending,
  expirePending,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
