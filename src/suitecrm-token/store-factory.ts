/** Picks the token store TOKEN_STORE names. */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { RedisTokenStore } from './shared/redis-store.js';
import { MemoryTokenStore, type TokenStore } from './token-store.js';

/**
 * How long a replica waits for another one's renewal: the holder may send a refresh request and
 * then the configured grant, each up to TOKEN_REQUEST_TIMEOUT_SECONDS, plus one quick retry.
 */
export function waitBudgetMs(config: Pick<Config, 'tokenRequestTimeoutMs'>): number {
  return 2 * config.tokenRequestTimeoutMs + 5_000;
}

export function tokenStoreFor(config: Config, credentialKey: string, logger: Logger, now?: () => number): TokenStore {
  if (config.tokenStore !== 'redis' || config.redisUrl === undefined || config.tokenStoreKey === undefined) return new MemoryTokenStore();
  return new RedisTokenStore({
    url: config.redisUrl,
    key: config.tokenStoreKey,
    prefix: config.tokenStorePrefix,
    credentialKey,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    waitBudgetMs: waitBudgetMs(config),
    logger,
    now,
  });
}
