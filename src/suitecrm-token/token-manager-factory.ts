/**
 * The TokenManager of one SuiteCRM credential with its own connection pool to the token
 * endpoint: built per credential by buildApp in a single process, and by the primary under
 * PROXY_WORKERS.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { CredentialConfig } from '../config/load.js';
import { DEFAULT_CREDENTIAL } from '../config/suitecrm-credentials.js';
import { PROCESS_HOME, type StateHome } from '../shared-state/state-home.js';
import type { ApiBaseSource } from '../upstream/api-base.js';
import { tokenPool as newTokenPool } from '../upstream/pools.js';
import { resolveTokenEndpoint } from './grant.js';
import { LiveCredential, requestWithReread } from './live-credential.js';
import { tokenStoreFor } from './store-factory.js';
import type { TokenHooks } from './token.js';
import { TokenManager } from './token-manager.js';

export interface OwnedTokenManager {
  readonly tokens: TokenManager;
  /** Closes the token endpoint pool and the token store (not the home's connections). */
  close(): Promise<void>;
}

/**
 * One token per configured credential: the key identifies the credential without holding a
 * secret. It also keys the credential's records in the shared token store, so a named credential
 * adds its name (two refresh_token credentials of one client are different users); `default`
 * keeps the key of releases before named credentials, so a fleet can be upgraded one replica at a time.
 */
export function credentialKey(config: CredentialConfig): string {
  // The default token path as releases before its detection named it, so a fleet keeps its keys across the upgrade.
  const parts = [config.suitecrmUrl.href, config.tokenPath ?? '/Api/access_token', config.grantType, config.clientId, config.username ?? ''];
  if (config.name !== DEFAULT_CREDENTIAL) parts.push(config.name);
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

export interface TokenManagerSetup {
  /** Where SuiteCRM's API is: its token endpoint is there unless SUITECRM_TOKEN_PATH says otherwise. */
  readonly api: ApiBaseSource;
  readonly now?: () => number;
  readonly hooks?: Partial<TokenHooks>;
  /** Where the token is shared: Redis (TOKEN_STORE=redis) or this process (the default). */
  readonly home?: StateHome;
}

export function createTokenManager(settings: CredentialConfig | LiveCredential, parentLogger: Logger, options: TokenManagerSetup): OwnedTokenManager {
  const credential = settings instanceof LiveCredential ? settings : new LiveCredential(settings);
  const config = credential.current;
  // Every token line names its credential.
  const logger = parentLogger.child({ credential: config.name });
  const tokenPool = newTokenPool(config);
  const key = credentialKey(config);
  const store = tokenStoreFor(config, key, logger, options.home ?? PROCESS_HOME, options.now);
  const tokens = new TokenManager({
    store,
    grantType: config.grantType,
    initialRefreshToken: config.refreshToken,
    // Getters: the manager reads these on use, so a reload's new values apply to it at once.
    get refreshMarginMs() { return credential.current.refreshMarginMs; },
    get tokenRetryMaxMs() { return credential.current.tokenRetryMaxMs; },
    get credentialsRetryMs() { return credential.current.credentialsRetryMs; },
    credentialKey: key,
    credential: { name: config.name, fromSettings: config.fromSettings },
    logger,
    now: options.now,
    hooks: options.hooks,
    fetchToken: async (request) => requestWithReread(credential, await resolveTokenEndpoint(credential.current, options.api), tokenPool, request, options.now),
  });
  return { tokens, close: async () => { await Promise.all([tokenPool.close(), store.close()]); } };
}
