/**
 * Builds the local OAuth pieces from the configuration: who may log in at the local token
 * endpoint, the local token store, and the resolver the security plugin uses for bearer values.
 */
import { sha256 } from '../config/secret-text.js';
import type { Config } from '../config/load.js';
import { ANONYMOUS_CALLER } from '../config/callers.js';
import { DEFAULT_CREDENTIAL } from '../config/suitecrm-credentials.js';
import { allowedGrants } from '../config/oauth-credentials.js';
import { type OAuthCaller } from './client-registry.js';
import { LiveClientRegistry } from './live-clients.js';
import { LocalSessions } from './local-sessions.js';
import { LoginRateLimit } from './login-rate-limit.js';
import { LoginThrottle } from './login-throttle.js';
import type { SharedCounters } from '../shared-state/counters.js';
import { MemoryCounters } from '../shared-state/memory-counters.js';
import type { LocalTokenResolver } from '../security/local-tokens.js';
import { localTokenResolver } from './token-resolver.js';
import { LocalTokenEndpoint } from './token-endpoint.js';

export interface LocalOAuth {
  readonly store: LocalSessions;
  /** Undefined when SuiteCRM's own token endpoint is forwarded (PROXY_FORWARD_TOKEN_ENDPOINT=true). */
  readonly endpoint: LocalTokenEndpoint | undefined;
  readonly resolver: LocalTokenResolver;
  readonly throttle: LoginThrottle;
  readonly rateLimit: LoginRateLimit;
  /** Who may log in at the local token endpoint; a configuration reload replaces them. */
  readonly clients: LiveClientRegistry;
}

/**
 * Callers with OAuth credentials. Without PROXY_CLIENTS every request is the caller "anonymous";
 * then a tool logs in with the credentials it already used against SuiteCRM, which are the
 * proxy's own `default` credential (SUITECRM_CLIENT_ID/SECRET, and USERNAME/PASSWORD if set),
 * so it needs no change.
 */
export function oauthCallers(config: Config): OAuthCaller[] {
  const { clients, defaultRateLimit } = config.security;
  if (clients !== undefined) {
    return clients.flatMap((spec) => (spec.oauth === undefined ? [] : [{ name: spec.name, oauth: spec.oauth, rateLimit: spec.rateLimit ?? defaultRateLimit }]));
  }
  // loadConfig made sure the anonymous caller has its credential.
  const credential = config.credentials.find((c) => c.name === DEFAULT_CREDENTIAL);
  if (credential === undefined) return [];
  const hasUser = credential.username !== undefined && credential.password !== undefined;
  return [{
    name: ANONYMOUS_CALLER,
    oauth: {
      clientId: credential.clientId,
      clientSecretDigest: sha256(credential.clientSecret),
      username: hasUser ? credential.username : undefined,
      passwordDigest: hasUser ? sha256(credential.password ?? '') : undefined,
      grants: allowedGrants(ANONYMOUS_CALLER, hasUser, undefined),
    },
    rateLimit: defaultRateLimit,
  }];
}

/** `counters`: where login limits and throttles are counted (src/shared-state/); default: this process's memory. */
export function setupLocalOAuth(config: Config, now?: () => number, counters: SharedCounters = new MemoryCounters(now)): LocalOAuth {
  const limits = config.localTokens;
  const store = new LocalSessions({ ...limits, now });
  const clients = new LiveClientRegistry(oauthCallers(config));
  const endpoint = config.security.forwardTokenEndpoint ? undefined : new LocalTokenEndpoint(clients, store);
  return {
    store,
    endpoint,
    resolver: localTokenResolver(store),
    throttle: new LoginThrottle({ perClient: limits.maxLoginFailuresPerMinute, perAddress: limits.maxLoginFailuresPerAddressPerMinute }, counters),
    rateLimit: new LoginRateLimit(counters),
    clients,
  };
}
