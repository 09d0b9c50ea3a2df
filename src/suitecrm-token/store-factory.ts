/** Picks the token store for where this process keeps shared state (TOKEN_STORE, src/shared-state/). */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { StateHome } from '../shared-state/state-home.js';
import { RedisTokenStore } from './shared/redis-store.js';
import { MemoryTokenStore, type TokenStore } from './token-store.js';

/**
 * How long a replica waits for another one's renewal: the holder may send a refresh request and
 * then the configured grant, each up to TOKEN_REQUEST_TIMEOUT_SECONDS, plus one quick retry.
 */
export function waitBudgetMs(config: Pick<Config, 'tokenRequestTimeoutMs'>): number {
  return 2 * config.tokenRequestTimeoutMs + 5_000;
}

/**
 * The Redis store on the process's Redis home (TOKEN_STORE=redis), else memory. A PROXY_WORKERS
 * worker never gets here: its tokens come from the primary, which owns the managers.
 */
export function tokenStoreFor(config: Config, credentialKey: string, logger: Logger, home: StateHome, now?: () => number): TokenStore {
  if (home.kind !== 'redis' || config.tokenStoreKey === undefined) return new MemoryTokenStore();
  return new RedisTokenStore({
    home: home.redis,
    key: config.tokenStoreKey,
    prefix: config.tokenStorePrefix,
    credentialKey,
    waitBudgetMs: waitBudgetMs(config),
    logger,
    now,
  });
}
