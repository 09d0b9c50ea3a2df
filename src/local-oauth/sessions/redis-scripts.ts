/**
 * The Lua scripts of the local sessions in Redis. Each runs atomically on the server, so "check a
 * refresh token, end its session and start the next one" is one step no other replica can
 * interleave with (a refresh token is spent once, fleet-wide), and the limits hold for the fleet.
 *
 * Keys, all under one hash tag `<prefix>:{sessions:<key id>}` (one Redis Cluster slot), given as
 * KEYS[1] = that base; digests are HMACs keyed from TOKEN_STORE_KEY (token-digest.ts), caller
 * names come from the configuration:
 *   :s:<access digest>   hash {id, caller, issued, aexp, forget[, rdig, rexp]}: one session
 *   :r:<refresh digest>  string: the access digest of the session it refreshes
 *   :c:<caller>          zset access digest -> last use (ms): the caller's sessions, least recently used first
 *   :ends                zset access digest -> forget at (ms): every session, for expiry and the total
 *   :callers             set: callers that held a session
 *   :x:<access digest>   a tombstone for an hour (at most until the session would have been
 *                        forgotten): a replica sharing again the sessions it had seen, after
 *                        Redis lost its data, never brings back one that was ended meanwhile
 *   :epoch               string: random, set once; a new one means Redis lost its data
 * Sessions that end (logout, rotation, eviction; not expiry) are published on the channel as
 * their access digests joined by commas. Times are epoch ms from the calling replica's clock.
 */

/** Shared by the scripts: ARGV[1] is always `now`. Strings are written as given (Lua prints big numbers as 1.7e+12). */
const PREAMBLE = `
if redis.replicate_commands then redis.replicate_commands() end
local base = KEYS[1]
local now = tonumber(ARGV[1])
local ended = {}
local function sk(d) return base .. ':s:' .. d end
local function ck(c) return base .. ':c:' .. c end
local function keep(key, at)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 or (ttl >= 0 and now + ttl < tonumber(at)) then redis.call('PEXPIREAT', key, at) end
end
local function tomb(d, forget)
  local ttl = math.min(tonumber(forget) - now, 3600000)
  if ttl > 0 then redis.call('SET', base .. ':x:' .. d, '1', 'PX', string.format('%d', ttl)) end
end
local function remove(d)
  local s = redis.call('HMGET', sk(d), 'caller', 'rdig', 'forget')
  if s[2] then redis.call('DEL', base .. ':r:' .. s[2]) end
  redis.call('DEL', sk(d))
  redis.call('ZREM', base .. ':ends', d)
  if s[1] then
    redis.call('ZREM', ck(s[1]), d)
  else
    for _, c in ipairs(redis.call('SMEMBERS', base .. ':callers')) do redis.call('ZREM', ck(c), d) end
  end
  return s[3]
end
local function finish(d)
  local forget = remove(d)
  if forget then tomb(d, forget) end
  ended[#ended + 1] = d
end
local function prune(limit)
  for _, d in ipairs(redis.call('ZRANGEBYSCORE', base .. ':ends', '-inf', now, 'LIMIT', 0, limit)) do remove(d) end
end
local function fullest()
  local best, size = nil, 0
  for _, c in ipairs(redis.call('SMEMBERS', base .. ':callers')) do
    local n = redis.call('ZCARD', ck(c))
    if n > size then best, size = c, n end
  end
  return best
end
local function evict(caller)
  local oldest = redis.call('ZRANGE', ck(caller), 0, 0)[1]
  if oldest then finish(oldest) end
  return oldest
end
local function add(f, maxPer, maxTotal)
  local d, caller, forget = f[1], f[3], f[6]
  redis.call('HSET', sk(d), 'id', f[2], 'caller', caller, 'issued', f[4], 'aexp', f[5], 'forget', forget)
  if f[7] ~= '' then
    redis.call('HSET', sk(d), 'rdig', f[7], 'rexp', f[8])
    redis.call('SET', base .. ':r:' .. f[7], d)
    redis.call('PEXPIREAT', base .. ':r:' .. f[7], forget)
  end
  redis.call('PEXPIREAT', sk(d), forget)
  redis.call('ZADD', ck(caller), ARGV[1], d)
  redis.call('ZADD', base .. ':ends', forget, d)
  redis.call('SADD', base .. ':callers', caller)
  for _, key in ipairs({ck(caller), base .. ':ends', base .. ':callers'}) do keep(key, forget) end
  while redis.call('ZCARD', ck(caller)) > maxPer do evict(caller) end
  while redis.call('ZCARD', base .. ':ends') > maxTotal do
    local caller2 = fullest()
    if not caller2 or not evict(caller2) then break end
  end
end
local function publish(channel)
  if #ended > 0 then redis.call('PUBLISH', channel, table.concat(ended, ',')) end
  return ended
end
local function fields(from)
  local f = {}
  for i = from, from + 7 do f[#f + 1] = ARGV[i] end
  return f
end
`;

/**
 * ARGV now, max per caller, max in all, channel, only if absent ('1': a replica sharing a session
 * again after an outage), then the 8 session fields (access digest, id, caller, issued, access
 * expiry, forget at, refresh digest or '', refresh expiry or ''). Returns the digests evicted.
 */
export const ADD_SCRIPT = `${PREAMBLE}
prune(100)
local f = fields(6)
if ARGV[5] == '1' and (redis.call('EXISTS', sk(f[1]), base .. ':x:' .. f[1]) > 0 or tonumber(f[6]) <= now) then return {} end
add(f, tonumber(ARGV[2]), tonumber(ARGV[3]))
return publish(ARGV[4])
`;

/** ARGV now, access digest. The session's hash as a flat list (and its use noted), or false. */
export const FIND_SCRIPT = `${PREAMBLE}
local s = redis.call('HMGET', sk(ARGV[2]), 'caller', 'forget')
if not s[1] or tonumber(s[2]) <= now then return false end
redis.call('ZADD', ck(s[1]), 'XX', ARGV[1], ARGV[2])
return redis.call('HGETALL', sk(ARGV[2]))
`;

/**
 * ARGV now, max per caller, max in all, channel, refresh digest, caller, spend ('1' or '0'), then
 * the 8 fields of the next session when spending. Returns {'ok', old access digest, its flat hash} or
 * {'revoked'|'not_linked'|'expired'}; an expired refresh token ends its session.
 */
export const REFRESH_SCRIPT = `${PREAMBLE}
local d = redis.call('GET', base .. ':r:' .. ARGV[5])
if not d then return {'revoked'} end
local old = redis.call('HGETALL', sk(d))
if #old == 0 then return {'revoked'} end
local s = redis.call('HMGET', sk(d), 'caller', 'rexp')
if s[1] ~= ARGV[6] then return {'not_linked'} end
if s[2] and tonumber(s[2]) <= now then
  finish(d)
  publish(ARGV[4])
  return {'expired'}
end
if ARGV[7] == '1' then
  finish(d)
  prune(100)
  add(fields(8), tonumber(ARGV[2]), tonumber(ARGV[3]))
  publish(ARGV[4])
end
table.insert(old, 1, d)
table.insert(old, 1, 'ok')
return old
`;

/**
 * ARGV now, channel, access digest, forget at. Logout; the tombstone is left even when the session
 * is not there (a logout replayed after Redis lost its data). Returns 1 when the session existed.
 */
export const END_SCRIPT = `${PREAMBLE}
tomb(ARGV[3], ARGV[4])
if redis.call('EXISTS', sk(ARGV[3])) == 0 then return 0 end
finish(ARGV[3])
publish(ARGV[2])
return 1
`;

/** ARGV now. Flat {caller, live sessions, ...} for every caller that held one. */
export const COUNTS_SCRIPT = `${PREAMBLE}
prune(10000)
local out = {}
for _, c in ipairs(redis.call('SMEMBERS', base .. ':callers')) do
  out[#out + 1] = c
  out[#out + 1] = redis.call('ZCARD', ck(c))
end
return out
`;

/** ARGV now, a new random epoch. Sets it unless one is there; returns the one in force. */
export const EPOCH_SCRIPT = `${PREAMBLE}
redis.call('SET', base .. ':epoch', ARGV[2], 'NX')
return redis.call('GET', base .. ':epoch')
`;
