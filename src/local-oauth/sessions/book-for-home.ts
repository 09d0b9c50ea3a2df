/** Picks where this process's local sessions live, from its state home (src/shared-state/state-home.ts). */
import type { Logger } from 'pino';
import type { Config } from '../../config/load.js';
import { homeFor, type StateHome } from '../../shared-state/state-home.js';
import { MemorySessionBook } from './memory-book.js';
import { PrimarySessionBook } from './primary-book.js';
import { RedisSessionBook } from './redis-book.js';
import type { SessionBook } from './session-book.js';

/**
 * The most sessions (and tombstones) a process caches when they live elsewhere: twice
 * LOCAL_TOKEN_MAX_SESSIONS, so every live session fits with room for the stale tokens seen, within
 * 1,000 and 200,000 (a few hundred bytes each). Past it, the least recently used copy is asked for again.
 */
function sessionCacheMax(maxSessions: number): number {
  return Math.min(200_000, Math.max(1_000, 2 * maxSessions));
}

export function sessionBookFor(home: StateHome, config: Pick<Config, 'localTokens' | 'tokenStoreKey' | 'tokenStorePrefix'>, logger: Logger, now?: () => number): SessionBook {
  const { maxSessions, maxSessionsPerClient } = config.localTokens;
  const limits = { maxTotal: maxSessions, maxPerCaller: maxSessionsPerClient };
  return homeFor<SessionBook>(home, {
    process: () => new MemorySessionBook(limits, now),
    primary: (link) => new PrimarySessionBook(link, sessionCacheMax(maxSessions)),
    redis: (redis) => new RedisSessionBook({
      home: redis, limits, cacheMax: sessionCacheMax(maxSessions), prefix: config.tokenStorePrefix,
      // loadConfig requires TOKEN_STORE_KEY with TOKEN_STORE=redis.
      key: config.tokenStoreKey ?? Buffer.alloc(0), logger, now,
    }),
  });
}
