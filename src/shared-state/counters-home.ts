/**
 * The SharedCounters of a process, for where its shared state lives (state-home.ts): its own
 * memory, the PROXY_WORKERS primary, or Redis.
 */
import type { SharedCounters } from './counters.js';
import { MemoryCounters } from './memory-counters.js';
import { PrimaryCounters } from './primary-counters.js';
import { RedisCounters } from './redis-counters.js';
import { homeFor, type StateHome } from './state-home.js';

export interface CountersOptions {
  /** TOKEN_STORE_PREFIX: the Redis keys' prefix. */
  readonly prefix: string;
  /** Milliseconds clock of the counts kept in memory (tests pass a fake one). */
  readonly now?: () => number;
}

export function countersFor(home: StateHome, options: CountersOptions): SharedCounters {
  return homeFor<SharedCounters>(home, {
    process: () => new MemoryCounters(options.now),
    primary: (link) => new PrimaryCounters(link, options.now),
    redis: (redis) => new RedisCounters(redis, options),
  });
}
