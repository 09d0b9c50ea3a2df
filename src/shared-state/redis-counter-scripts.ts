/**
 * The Lua scripts of the Redis counters (redis-counters.ts), typed for ioredis. Each runs
 * atomically on the server, so replicas taking from one bucket or adding to one window at the
 * same moment never read the same old value. The clock is Redis's own (TIME, and the key's TTL),
 * so replicas whose clocks differ still count on one timeline.
 *
 * @fastify/rate-limit's own Redis store runs INCR + PEXPIRE: a fixed window. Our request limits are
 * token buckets (a fixed window lets 2x through at its edge), so the bucket is this script instead.
 */
import type { Redis, Result } from 'ioredis';

/** Lua 5.1 prints numbers with 14 digits (1.7334123456781e+12): keep the fractions exactly. */
const PREAMBLE = `
if redis.replicate_commands then redis.replicate_commands() end
local function exact(n) return string.format('%.6f', n) end
`;

/**
 * KEYS bucket (hash {tokens, at}); ARGV burst, ms to refill a full bucket. Takes one request if
 * the bucket holds one. Returns {1 allowed | 0 refused, tokens left (a decimal string)}. The key
 * expires when the bucket would be full again, which is what a missing key means.
 */
export const BUCKET_TAKE_SCRIPT = `${PREAMBLE}
local burst = tonumber(ARGV[1])
local rate = burst / math.max(1, tonumber(ARGV[2]))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', exact(tokens), 'at', exact(now))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) / rate)))
return {allowed, exact(tokens)}
`;

/**
 * KEYS window (a counter with a TTL); ARGV window ms, amount (0 reads; negative takes back an earlier
 * add and never starts a window). Returns {count, ms until the window ends (0: no window)}.
 */
export const WINDOW_ADD_SCRIPT = `
local by = tonumber(ARGV[2])
local exists = redis.call('EXISTS', KEYS[1]) == 1
if by > 0 or (by < 0 and exists) then
  local count = redis.call('INCRBY', KEYS[1], by)
  if count < 0 then redis.call('INCRBY', KEYS[1], -count) end
  exists = true
end
if not exists then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {math.max(0, tonumber(redis.call('GET', KEYS[1]))), ttl}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    counterTake(bucket: string, burst: number, refillMs: number): Result<[number, string], Context>;
    counterAdd(window: string, windowMs: number, by: number): Result<[number, number], Context>;
  }
}

/** Defines the counter commands on `client` (idempotent: ioredis replaces a definition). */
export function defineCounterCommands(client: Redis): void {
  client.defineCommand('counterTake', { numberOfKeys: 1, lua: BUCKET_TAKE_SCRIPT });
  client.defineCommand('counterAdd', { numberOfKeys: 1, lua: WINDOW_ADD_SCRIPT });
}
