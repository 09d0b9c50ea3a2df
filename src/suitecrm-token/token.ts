/**
 * The contract of the SuiteCRM token side: what the proxy route, the admin endpoints, metrics,
 * the PROXY_WORKERS primary and workers and the shared token store know of "the token".
 * Implementations: TokenManager (token-manager.ts) in the process that owns the token, and
 * ClusterTokenClient (cluster/token-client.ts) in a worker that asks its primary.
 */
import type { GrantType } from '../config/settings.js';
import type { FailureClass, Token } from './grant.js';
import type { TokenFailure } from './renewal-policy.js';

export type { Token } from './grant.js';
export type { TokenFailure } from './renewal-policy.js';

export interface CachedToken extends Token {
  /** Our clock: after this the token is not used any more. */
  readonly usableUntil: number;
  /** Our clock: from here on one background refresh runs while the token is still served. */
  readonly refreshAt: number;
  /** Generation in the shared token store; undefined when the token is not shared. */
  readonly generation?: number;
}

/** Why a renewal runs; logged with a failed token request. 'reload': a reload changed the credential, or SIGHUP retried it. */
export type RenewReason = 'cold' | 'refresh_ahead' | 'rejected_401' | 'readiness' | 'reload';

export interface TokenStatus {
  readonly hasToken: boolean;
  readonly expiresInMs: number | undefined;
  readonly grant: GrantType | undefined;
  readonly renewing: boolean;
  readonly lastFailure: TokenFailure | undefined;
  readonly nextAttemptInMs: number;
  /** `memory` or `redis`; tokenStoreShared is false while a shared store is unusable. */
  readonly tokenStore: string;
  readonly tokenStoreShared: boolean;
  /** Renewals done without the shared store since start (suitecrm_proxy_token_store_fallback). */
  readonly tokenStoreFallbacks: number;
}

export interface TokenSource {
  /** The token to use right now, or undefined. Synchronous: this is the per-request hot path. */
  current(): CachedToken | undefined;
  /** A usable token, waiting for a renewal when needed; rejects with a ProxyError otherwise. */
  get(reason?: RenewReason): Promise<CachedToken>;
  /** SuiteCRM answered 401 for `token`; true when the request may be replayed. */
  rejected(token: Token): boolean;
  /** The replay with a fresh token got 401 too (counted once per token; a token that had worked was revoked). */
  replayRejected(token: Token): void;
  /** A request succeeded with `token` (per request: must stay cheap). */
  accepted(token: Token): void;
  status(): TokenStatus;
}

/**
 * The token of each configured SuiteCRM credential, by name (issue #13): the proxy route picks
 * the caller's, readiness and metrics walk them all. A request only ever carries a token of the
 * TokenSource it was handed, so one credential's renewal, 401 or failure never touches another's.
 */
export interface TokenSources {
  /** The credential's TokenSource; undefined for a name that is not (or no longer) configured. */
  source(credential: string): TokenSource | undefined;
  /** The configured credentials' names, `default` first when it is configured. */
  names(): readonly string[];
}

/** Each configured credential's name with its TokenSource, in configuration order. */
export function eachSource(tokens: TokenSources): Array<readonly [string, TokenSource]> {
  return tokens.names().flatMap((name) => {
    const source = tokens.source(name);
    return source === undefined ? [] : [[name, source] as const];
  });
}

/** Callbacks for metrics; all optional. */
export interface TokenHooks {
  tokenRequest(grant: GrantType, outcome: 'success' | FailureClass, durationMs: number): void;
  refreshAhead(): void;
  tokenInvalidated(): void;
  /** A renewal ran without the shared store because it was unusable (metric suitecrm_proxy_token_store_fallback). */
  tokenStoreFallback(reason: string): void;
  /** A renewal took the token another replica had obtained instead of asking SuiteCRM. */
  tokenAdopted(): void;
  /** A new token is in the cache (PROXY_WORKERS: the primary pushes it to the workers). */
  tokenStored(token: CachedToken): void;
}

/** Use a token until shortly before expiry: this share of its lifetime, at most 5 s. */
const EXPIRY_SAFETY_SHARE = 0.1;
const EXPIRY_SAFETY_MAX_MS = 5000;
/** The refresh margin never exceeds this share of the lifetime, so short tokens don't loop. */
const REFRESH_MARGIN_MAX_SHARE = 0.25;

/** When a token stops being used, and when its background refresh starts. */
export function scheduleFor(token: Token, refreshMarginMs: number): CachedToken {
  const safety = Math.min(EXPIRY_SAFETY_MAX_MS, token.lifetimeMs * EXPIRY_SAFETY_SHARE);
  const usableUntil = token.receivedAt + token.lifetimeMs - safety;
  const margin = Math.min(refreshMarginMs, token.lifetimeMs * REFRESH_MARGIN_MAX_SHARE);
  return { ...token, usableUntil, refreshAt: usableUntil - margin };
}
