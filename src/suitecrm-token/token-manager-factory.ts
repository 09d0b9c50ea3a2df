/**
 * The TokenManager of the configured credential with its own connection pool to the token
 * endpoint: built by buildApp in a single process, and by the primary under PROXY_WORKERS.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { tokenPool as newTokenPool } from '../upstream/pools.js';
import { LiveCredential, requestWithReread } from './live-credential.js';
import { tokenStoreFor } from './store-factory.js';
import type { TokenHooks } from './token.js';
import { TokenManager } from './token-manager.js';

export interface OwnedTokenManager {
  readonly tokens: TokenManager;
  /** Closes the token endpoint pool and the token store. */
  close(): Promise<void>;
}

/** One token per configured credential: the key identifies the credential without holding a secret. */
export function credentialKey(config: Config): string {
  return createHash('sha256')
    .update([config.suitecrmUrl.href, config.tokenPath, config.grantType, config.clientId, config.username ?? ''].join('\n'))
    .digest('hex');
}

export function createTokenManager(settings: Config | LiveCredential, logger: Logger, options: { now?: () => number; hooks?: Partial<TokenHooks> } = {}): OwnedTokenManager {
  const credential = settings instanceof LiveCredential ? settings : new LiveCredential(settings);
  const config = credential.current;
  const tokenPool = newTokenPool(config);
  const key = credentialKey(config);
  const store = tokenStoreFor(config, key, logger, options.now);
  const tokens = new TokenManager({
    store,
    grantType: config.grantType,
    initialRefreshToken: config.refreshToken,
    // Getters: the manager reads these on use, so a reload's new values apply to it at once.
    get refreshMarginMs() { return credential.current.refreshMarginMs; },
    get tokenRetryMaxMs() { return credential.current.tokenRetryMaxMs; },
    get credentialsRetryMs() { return credential.current.credentialsRetryMs; },
    credentialKey: key,
    logger,
    now: options.now,
    hooks: options.hooks,
    fetchToken: (request) => requestWithReread(credential, tokenPool, request, options.now),
  });
  return { tokens, close: async () => { await Promise.all([tokenPool.close(), store.close()]); } };
}
