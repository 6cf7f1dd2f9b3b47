/**
 * The Lua scripts, one place. Each runs atomically inside Redis and reads the time from Redis
 * itself, so every gateway and the registry share one clock for deadlines.
 *
 * Shared conventions: a backend's score in `load` is max(inflight, reported) / weight, written with
 * %.17g so that Redis keeps the exact double; `ZADD XX` only rescores members already in `load`, so
 * a draining backend (absent from `load`) is never put back by a release or a report.
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** rescore(load, inflight, reported, weight, id): recompute one backend's score if it is ranked. */
const RESCORE = `
local function rescore(kLoad, kInflight, kReported, kWeight, id)
  local weight = tonumber(redis.call('HGET', kWeight, id) or '0')
  if weight <= 0 then return end
  local inflight = tonumber(redis.call('HGET', kInflight, id) or '0')
  local reported = tonumber(redis.call('HGET', kReported, id) or '0')
  redis.call('ZADD', kLoad, 'XX', string.format('%.17g', math.max(inflight, reported) / weight), id)
end
`;

export interface ScriptDefinition {
  readonly numberOfKeys: number;
  readonly lua: string;
}

/**
 * KEYS: load, inflight, reported, weight, alive, backends, leases(holder)
 * ARGV: random in [0, 1), excluded ids...
 * The Redis spelling of selectLeastLoaded: scan `load` from the lowest score, skip excluded and
 * lapsed backends, collect every live backend tied at the lowest score, pick one with ARGV[1],
 * count one more slot on it and on the holder's lease table. Returns {id, record JSON} or false.
 */
export const reserve: ScriptDefinition = {
  numberOfKeys: 7,
  lua: `${NOW}${RESCORE}
local excluded = {}
for i = 2, #ARGV do excluded[ARGV[i]] = true end
local best, bestScore = {}, nil
local offset, batch, done = 0, 32, false
while not done do
  local rows = redis.call('ZRANGE', KEYS[1], offset, offset + batch - 1, 'WITHSCORES')
  if #rows == 0 then break end
  for i = 1, #rows, 2 do
    local score = tonumber(rows[i + 1])
    if bestScore ~= nil and score > bestScore then done = true; break end
    local id = rows[i]
    if not excluded[id] and tonumber(redis.call('ZSCORE', KEYS[5], id) or '-1') >= now then
      bestScore = score
      best[#best + 1] = id
    end
  end
  offset = offset + batch
end
if #best == 0 then return false end
local index = math.floor(tonumber(ARGV[1]) * #best) + 1
if index > #best then index = #best end
local id = best[index]
redis.call('HINCRBY', KEYS[2], id, 1)
redis.call('HINCRBY', KEYS[7], id, 1)
rescore(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id)
return {id, redis.call('HGET', KEYS[6], id)}
`,
};

/**
 * KEYS: load, inflight, reported, weight, leases(holder)
 * ARGV: id
 * Counts one slot off, only if the holder still holds one (its leases may have been reaped).
 */
export const release: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${RESCORE}
local id = ARGV[1]
local held = tonumber(redis.call('HGET', KEYS[5], id) or '0')
if held <= 0 then return 0 end
if held == 1 then redis.call('HDEL', KEYS[5], id) else redis.call('HINCRBY', KEYS[5], id, -1) end
if redis.call('HEXISTS', KEYS[4], id) == 0 then
  redis.call('HDEL', KEYS[2], id) -- the backend is gone: drop what is left of its count
  return 1
end
if redis.call('HINCRBY', KEYS[2], id, -1) < 0 then redis.call('HSET', KEYS[2], id, 0) end
rescore(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id)
return 1
`,
};

/**
 * KEYS: load, inflight, reported, weight
 * ARGV: id, active
 */
export const report: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `${RESCORE}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[4], id) == 0 then return 0 end
redis.call('HSET', KEYS[3], id, ARGV[2])
rescore(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id)
return 1
`,
};

/**
 * KEYS: backends, load, inflight, reported, weight, alive
 * ARGV: id, record JSON, weight, ttl ms, state
 * Adds or replaces a backend, keeping the counts of one registered before. Returns the deadline.
 */
export const register: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `${NOW}${RESCORE}
local id = ARGV[1]
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('HSET', KEYS[5], id, ARGV[3])
redis.call('HSETNX', KEYS[3], id, 0)
redis.call('HSETNX', KEYS[4], id, 0)
if ARGV[5] == 'active' then
  redis.call('ZADD', KEYS[2], 'NX', 0, id)
  rescore(KEYS[2], KEYS[3], KEYS[4], KEYS[5], id)
else
  redis.call('ZREM', KEYS[2], id)
end
local deadline = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[6], deadline, id)
return deadline
`,
};

/**
 * KEYS: backends, load, inflight, reported, weight, alive
 * ARGV: id, ttl ms, active ('' when not reported)
 * Returns the new deadline, or -1 for an unknown backend (it must register again).
 */
export const heartbeat: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `${NOW}${RESCORE}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 0 then return -1 end
local deadline = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[6], deadline, id)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[4], id, ARGV[3])
  rescore(KEYS[2], KEYS[3], KEYS[4], KEYS[5], id)
end
return deadline
`,
};

/**
 * KEYS: backends, load, inflight, reported, weight
 * ARGV: id, record JSON with the new state, state
 * Draining takes the backend out of `load` (no new picks); activating ranks it again.
 */
export const setState: ScriptDefinition = {
  numberOfKeys: 5,
  lua: `${RESCORE}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 0 then return 0 end
redis.call('HSET', KEYS[1], id, ARGV[2])
if ARGV[3] == 'active' then
  redis.call('ZADD', KEYS[2], 'NX', 0, id)
  rescore(KEYS[2], KEYS[3], KEYS[4], KEYS[5], id)
else
  redis.call('ZREM', KEYS[2], id)
end
return 1
`,
};

const REMOVE = `
local function remove(id)
  local existed = redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[6], id)
  return existed
end
`;

/**
 * KEYS: backends, load, inflight, reported, weight, alive
 * ARGV: id
 */
export const remove: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `${REMOVE}
return remove(ARGV[1])
`,
};

/**
 * KEYS: backends, load, inflight, reported, weight, alive
 * Removes every backend whose deadline has passed; returns their ids.
 */
export const evictLapsed: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `${NOW}${REMOVE}
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(' .. now)
for _, id in ipairs(lapsed) do remove(id) end
return lapsed
`,
};

/**
 * KEYS: holders
 * ARGV: holder, ttl ms
 */
export const beatHolder: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
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
 * KEYS: load, inflight, reported, weight, holders, leases(holder)
 * ARGV: holder
 * Gives back every slot a lapsed holder (a crashed gateway) still holds. Re-checks the deadline so
 * a holder that beat again since lapsedHolders ran keeps its leases.
 */
export const reapHolder: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `${NOW}${RESCORE}
local deadline = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[1]) or '-1')
if deadline >= now then return 0 end
local held = redis.call('HGETALL', KEYS[6])
for i = 1, #held, 2 do
  local id, count = held[i], tonumber(held[i + 1])
  if redis.call('HEXISTS', KEYS[4], id) == 1 then
    if redis.call('HINCRBY', KEYS[2], id, -count) < 0 then redis.call('HSET', KEYS[2], id, 0) end
    rescore(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id)
  end
end
redis.call('DEL', KEYS[6])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
`,
};

export const SCRIPTS = {
  reserve,
  release,
  report,
  register,
  heartbeat,
  setState,
  remove,
  evictLapsed,
  beatHolder,
  lapsedHolders,
  reapHolder,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
