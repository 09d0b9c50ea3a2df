/**
 * Picks the token store for where this process keeps shared state (TOKEN_STORE, src/shared-state/).
 * The Redis store is imported only for TOKEN_STORE=redis, by loadTokenStore at start-up;
 * TOKEN_STORE needs a restart to change, so no reload can need it later.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { StateHome } from '../shared-state/state-home.js';
import { MemoryTokenStore, type TokenStore } from './token-store.js';

let redisStore: typeof import('./shared/redis-store.js') | undefined;

/** Loads the store TOKEN_STORE names; awaited before the first tokenStoreFor (buildApp, the PROXY_WORKERS primary). */
export async function loadTokenStore(config: Pick<Config, 'tokenStore'>): Promise<void> {
  if (config.tokenStore === 'redis') redisStore ??= await import('./shared/redis-store.js');
}

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
  if (redisStore === undefined) throw new Error('TOKEN_STORE=redis: loadTokenStore() must be awaited before the first token manager is built');
  return new redisStore.RedisTokenStore({
    home: home.redis,
    key: config.tokenStoreKey,
    prefix: config.tokenStorePrefix,
    credentialKey,
    waitBudgetMs: waitBudgetMs(config),
    logger,
    now,
  });
}
