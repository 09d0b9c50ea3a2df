/**
 * The Lua scripts of the Redis token store. Each runs atomically on the server, so "look at the
 * shared token, else take the lock" and "store the token unless a newer one is there" are single
 * steps that no other replica can interleave with.
 *
 * Keys of one credential (one hash tag, so they also live in one Redis Cluster slot):
 *   record  hash {gen, valid, until, blob}: generation, '1' until a 401 invalidates it,
 *           epoch ms until which the access token may be used, the sealed token (token-crypto.ts)
 *   lock    the renewal lock: SET NX PX with a value unique to one renewal
 *   fence   the fencing counter: every lock acquisition takes the next number
 */

/** Lua 5.1 prints big numbers as 1.7e+12; %d keeps them whole. */
const PREAMBLE = `
if redis.replicate_commands then redis.replicate_commands() end
local function whole(n) return string.format('%d', n) end
`;

/**
 * KEYS record, lock, fence; ARGV known generation, lock owner, lease ms, epoch ms before which a
 * token is not worth adopting. Returns
 *   {'current', gen, blob}            a usable token that is not the known generation
 *   {'lock', fence, gen|false, blob|false}  the caller holds the lock; the old record for its refresh token
 *   {'wait', lock ttl ms}             another replica is renewing
 * The fence never goes below the server's clock in ms, so generations keep increasing even
 * after Redis lost its data and the counter started again.
 */
export const CLAIM_SCRIPT = `${PREAMBLE}
local rec = redis.call('HMGET', KEYS[1], 'gen', 'valid', 'until', 'blob')
if rec[1] and rec[1] ~= ARGV[1] and rec[2] == '1' and rec[3] and tonumber(rec[3]) > tonumber(ARGV[4]) then
  return {'current', rec[1], rec[4]}
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  local fence = redis.call('INCR', KEYS[3])
  local t = redis.call('TIME')
  local floor = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if fence < floor then
    fence = floor
    redis.call('SET', KEYS[3], whole(fence))
  end
  return {'lock', whole(fence), rec[1] or false, rec[4] or false}
end
return {'wait', redis.call('PTTL', KEYS[2])}
`;

/**
 * KEYS record, lock; ARGV fence, owner, blob, until, record ttl ms, channel. Stores the token
 * only if the record holds an older generation (a replica whose lease ran out cannot overwrite
 * a newer token), releases the lock if still owned, and announces the new generation.
 * Returns 1 when stored, 0 when fenced out.
 */
export const WRITE_SCRIPT = `${PREAMBLE}
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if gen >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'valid', '1', 'until', ARGV[4], 'blob', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[6], ARGV[1])
return 1
`;

/** KEYS lock; ARGV owner, lease ms. Extends the lease only for its owner. Returns 1 or 0. */
export const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS lock; ARGV owner. Compare-and-delete: only the owner releases the lock. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * KEYS record; ARGV generation. SuiteCRM rejected this generation: mark it unusable unless the
 * record already holds another one. The sealed refresh token stays for the next renewal.
 */
export const INVALIDATE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'gen') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'valid', '0')
  return 1
end
return 0
`;
