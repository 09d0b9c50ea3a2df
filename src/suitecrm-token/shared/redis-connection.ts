/**
 * The two Redis connections of the token store (commands, and a subscriber for announcements),
 * set up so Redis trouble never blocks a request for long: no offline queue, short command
 * timeouts, reconnecting in the background. Also the typed token commands (redis-scripts.ts).
 */
import { Redis, type RedisOptions, type Result } from 'ioredis';
import { CLAIM_SCRIPT, EXTEND_SCRIPT, INVALIDATE_SCRIPT, RELEASE_SCRIPT, WRITE_SCRIPT } from './redis-scripts.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tokenClaim(record: string, lock: string, fence: string, known: string, owner: string, leaseMs: number, minUntil: number): Result<(string | number | null)[], Context>;
    tokenWrite(record: string, lock: string, fence: string, owner: string, blob: string, until: number, ttlMs: number, channel: string): Result<number, Context>;
    tokenExtend(lock: string, owner: string, leaseMs: number): Result<number, Context>;
    tokenRelease(lock: string, owner: string): Result<number, Context>;
    tokenInvalidate(record: string, generation: string): Result<number, Context>;
  }
}

/** A short, secret-free reason for a Redis failure (for logs and error codes). */
export function errorReason(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.message === 'string' && e.message.includes('timed out')) return 'timeout';
  return typeof e?.name === 'string' ? e.name : 'error';
}

/** host:port only: the URL may carry a password. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'redis';
  }
}

/** Both connections, not yet connected (lazyConnect); the command one knows the token scripts. */
export function redisConnections(url: string, commandTimeoutMs: number): { client: Redis; subscriber: Redis } {
  const options: RedisOptions = {
    // Fail at once while disconnected instead of queueing: the caller renews alone meanwhile.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(1000, 2 * commandTimeoutMs),
    // Reconnect forever, at most every 2 s, so sharing resumes soon after Redis is back.
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    connectionName: 'suitecrm-auth-proxy',
    autoResubscribe: false,
    lazyConnect: true,
  };
  const client = new Redis(url, options);
  const subscriber = new Redis(url, options);
  client.defineCommand('tokenClaim', { numberOfKeys: 3, lua: CLAIM_SCRIPT });
  client.defineCommand('tokenWrite', { numberOfKeys: 2, lua: WRITE_SCRIPT });
  client.defineCommand('tokenExtend', { numberOfKeys: 1, lua: EXTEND_SCRIPT });
  client.defineCommand('tokenRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  client.defineCommand('tokenInvalidate', { numberOfKeys: 1, lua: INVALIDATE_SCRIPT });
  return { client, subscriber };
}
