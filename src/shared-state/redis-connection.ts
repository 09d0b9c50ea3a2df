/**
 * The two Redis connections of a process (commands, and a subscriber for announcements), set up
 * so Redis trouble never blocks a request for long: no offline queue, short command timeouts,
 * reconnecting in the background. Each feature defines its own scripts on the command connection.
 */
import { Redis, type RedisOptions } from 'ioredis';

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

/** Both connections, not yet connected (lazyConnect). */
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
  return { client, subscriber };
}
