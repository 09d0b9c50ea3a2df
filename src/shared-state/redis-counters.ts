/**
 * SharedCounters in the Redis every replica shares (TOKEN_STORE=redis): one atomic script per
 * operation (redis-counter-scripts.ts), on Redis's clock, so a caller's rate limit and the
 * failed-login throttles count once for the whole fleet.
 *
 * While Redis cannot be used (RedisHome says so once per outage), each replica counts in its own
 * memory instead: nothing waits longer than one command timeout and nothing fails, and a fleet
 * of N replicas then allows up to N times a limit. When Redis is back the replica counts there
 * again and forgets its own counts.
 *
 * Keys: <prefix>:{limits}:bucket:<key> (a hash {tokens, at}) and <prefix>:{limits}:window:<key>
 * (a counter), each expiring when it no longer matters (a full bucket, an ended window). The keys
 * carry caller names, addresses and client id digests, never a secret; one hash tag keeps the
 * limits of a fleet in one Redis Cluster slot.
 */
import type { BucketTake, SharedCounters, WindowCount } from './counters.js';
import { bucketAnswer, MemoryCounters } from './memory-counters.js';
import { defineCounterCommands } from './redis-counter-scripts.js';
import type { RedisHome } from './redis-home.js';

export interface RedisCountersOptions {
  /** TOKEN_STORE_PREFIX. */
  readonly prefix: string;
  /** Clock of the counts kept in memory while Redis is down (tests pass a fake one). */
  readonly now?: () => number;
}

/** An error Redis answered (a wrong type at a key...): the connection itself is fine. */
function isReplyError(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'ReplyError';
}

export class RedisCounters implements SharedCounters {
  /** The counts while Redis cannot be used. */
  private readonly local: MemoryCounters;
  private readonly base: string;

  constructor(private readonly redis: RedisHome, options: RedisCountersOptions) {
    defineCounterCommands(redis.client);
    this.local = new MemoryCounters(options.now);
    this.base = `${options.prefix}:{limits}`;
    redis.on('up', () => this.local.clear());
  }

  async take(key: string, burst: number, refillMs: number): Promise<BucketTake> {
    if (!(await this.shared())) return this.local.takeNow(key, burst, refillMs);
    try {
      const [allowed, tokens] = await this.redis.client.counterTake(`${this.base}:bucket:${key}`, burst, refillMs);
      this.redis.commandWorked();
      return bucketAnswer(Number(tokens), allowed === 1, burst, burst / Math.max(1, refillMs));
    } catch (err) {
      this.failed(err);
      return this.local.takeNow(key, burst, refillMs);
    }
  }

  async add(key: string, windowMs: number, by: number): Promise<WindowCount> {
    if (!(await this.shared())) return this.local.addNow(key, windowMs, by);
    try {
      const [count, resetInMs] = await this.redis.client.counterAdd(`${this.base}:window:${key}`, windowMs, by);
      this.redis.commandWorked();
      return { count, resetInMs };
    } catch (err) {
      this.failed(err);
      return this.local.addNow(key, windowMs, by);
    }
  }

  /** Usable now, or once the first connection is made (bounded: RedisHome.ready). */
  private async shared(): Promise<boolean> {
    return this.redis.usable() || this.redis.ready();
  }

  private failed(err: unknown): void {
    // A timed-out or refused command means Redis is down for everyone; a reply error is this key's.
    if (!isReplyError(err)) this.redis.commandFailed(err);
  }
}
