/**
 * Owns the one SuiteCRM token of the configured credential: obtains it, caches it (lru-cache),
 * refreshes it ahead of expiry in the background, single-flights every renewal, backs off when
 * the token endpoint fails, and decides when a 401 justifies a new token.
 *
 * The hot path is `current()`: synchronous, no promise, no allocation while the token is valid.
 * Renewals go through a TokenStore (token-store.ts): in memory by default, or shared with other
 * replicas (redis-store.ts); when a shared store fails, the manager renews alone meanwhile.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { GrantType } from '../config/settings.js';
import { ProxyError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { TokenRequestError, type FailureClass, type GrantRequest, type Token } from './grant.js';
import { isTokenStoreUnavailable, MemoryTokenStore, type StoredToken, type TokenStore } from './token-store.js';
import type { TokenSource } from './token-source.js';

export interface CachedToken extends Token {
  /** Our clock: after this the token is not used any more. */
  readonly usableUntil: number;
  /** Our clock: from here on one background refresh runs while the token is still served. */
  readonly refreshAt: number;
  /** Generation in the shared token store; undefined when the token is not shared. */
  readonly generation?: number;
}

export type TokenFetcher = (request: GrantRequest) => Promise<Token>;

export type RenewReason = 'cold' | 'refresh_ahead' | 'rejected_401' | 'readiness';

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

export interface TokenManagerOptions {
  readonly grantType: GrantType;
  readonly initialRefreshToken?: string;
  readonly refreshMarginMs: number;
  readonly tokenRetryMaxMs: number;
  readonly credentialsRetryMs: number;
  readonly fetchToken: TokenFetcher;
  readonly logger: Logger;
  /** Cache key: one token per configured credential. */
  readonly credentialKey: string;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly hooks?: Partial<TokenHooks>;
  /** Where renewals are coordinated; default: this process only. */
  readonly store?: TokenStore;
}

export interface TokenFailure {
  readonly failureClass: FailureClass;
  readonly reason: string;
  readonly detail: string;
  readonly at: number;
}

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

/** First pause after a transient failure; doubles up to TOKEN_RETRY_MAX_SECONDS. */
const TRANSIENT_BASE_MS = 500;
/** A fast transient failure (reset, refused) gets one quick retry inside the same renewal. */
const QUICK_RETRY_WINDOW_MS = 1000;
const QUICK_RETRY_DELAY_MS = 150;
/** Rejected credentials: CREDENTIALS_RETRY_SECONDS, doubling up to this factor. */
const CREDENTIALS_RETRY_MAX_FACTOR = 10;
/** Use a token until shortly before expiry: this share of its lifetime, at most 5 s. */
const EXPIRY_SAFETY_SHARE = 0.1;
const EXPIRY_SAFETY_MAX_MS = 5000;
/** The refresh margin never exceeds this share of the lifetime, so short tokens don't loop. */
const REFRESH_MARGIN_MAX_SHARE = 0.25;

export function scheduleFor(token: Token, refreshMarginMs: number): CachedToken {
  const safety = Math.min(EXPIRY_SAFETY_MAX_MS, token.lifetimeMs * EXPIRY_SAFETY_SHARE);
  const usableUntil = token.receivedAt + token.lifetimeMs - safety;
  const margin = Math.min(refreshMarginMs, token.lifetimeMs * REFRESH_MARGIN_MAX_SHARE);
  return { ...token, usableUntil, refreshAt: usableUntil - margin };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class TokenManager implements TokenSource {
  private readonly cache: LRUCache<string, CachedToken>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly key: string;
  private readonly store: TokenStore;
  private inflight: Promise<CachedToken> | undefined;
  /** Newest shared-store generation this process has seen (0: none). */
  private generation = 0;
  private storeFallbacks = 0;
  private refreshToken: string | undefined;
  /** False while our refresh token came from a renewal the shared store never saw (an outage). */
  private refreshTokenShared = false;
  /** A second refresh token to try for this renewal: our unshared one when the store's is used. */
  private spareRefreshToken: string | undefined;
  private failure: TokenFailure | undefined;
  private consecutiveFailures = 0;
  private nextAttemptAt = 0;
  /** 401 loop guard: while set, a 401 is passed back instead of causing another grant. */
  private reauthStrikes = 0;
  private reauthBlockedUntil = 0;

  constructor(private readonly opts: TokenManagerOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger.child({ component: 'token' });
    this.key = opts.credentialKey;
    this.refreshToken = opts.initialRefreshToken;
    this.cache = new LRUCache<string, CachedToken>({ max: 4, ttlResolution: 0, perf: { now: this.now } });
    this.store = opts.store ?? new MemoryTokenStore();
    this.store.onRenewed?.((generation) => this.announced(generation));
  }

  /** The token to use right now, or undefined. Starts a background refresh when it is due. */
  current(): CachedToken | undefined {
    const token = this.cache.get(this.key);
    if (token === undefined) return undefined;
    const now = this.now();
    if (now >= token.usableUntil) return undefined;
    if (now >= token.refreshAt && this.inflight === undefined && now >= this.nextAttemptAt) {
      this.opts.hooks?.refreshAhead?.();
      this.renew('refresh_ahead').catch(() => { /* logged in renew; the current token stays in use */ });
    }
    return token;
  }

  /** A usable token, waiting for a renewal when needed; rejects fast with a ProxyError otherwise. */
  get(reason: RenewReason = 'cold'): Promise<CachedToken> {
    const token = this.current();
    if (token !== undefined) return Promise.resolve(token);
    if (this.inflight) return this.inflight;
    const wait = this.nextAttemptAt - this.now();
    if (wait > 0 && this.failure) return Promise.reject(this.unavailable(this.failure, wait));
    return this.renew(reason);
  }

  /**
   * SuiteCRM answered 401 to a request that carried `token`. Returns true when the request may
   * be replayed (with whatever `get()` yields next), false when it must go back to the caller.
   */
  rejected(token: Token & { readonly generation?: number }): boolean {
    if (this.now() < this.reauthBlockedUntil) return false;
    const cached = this.cache.get(this.key);
    if (cached !== undefined && cached.accessToken === token.accessToken) {
      // Only the still-current token is dropped: fifty 401s for it cause one renewal.
      this.cache.delete(this.key);
      // The shared copy is dropped only if it is still this generation (never a newer token).
      if (token.generation !== undefined) this.store.invalidate(token.generation);
      this.opts.hooks?.tokenInvalidated?.();
      this.log.info({ event: 'token_invalidated', grant: token.grant }, 'SuiteCRM rejected the access token (401); renewing it');
    }
    return true;
  }

  /**
   * The replay with a fresh token was rejected too: SuiteCRM refuses every token, so back off.
   * Returns the pause in ms during which 401s are passed back without renewing.
   */
  replayRejected(token: Token): number {
    this.reauthStrikes += 1;
    const pause = backoffDelay(this.reauthStrikes, 1000, Math.max(1000, this.opts.tokenRetryMaxMs), this.random);
    this.reauthBlockedUntil = this.now() + pause;
    this.log.warn({ event: 'token_rejected_after_renewal', grant: token.grant, pauseMs: pause },
      'SuiteCRM rejected a freshly obtained token; passing 401s back without renewing for a while (check the API user and SuiteCRM OAuth2 keys)');
    return pause;
  }

  /** A request succeeded with the current token: the 401 loop guard can relax. */
  accepted(): void {
    if (this.reauthStrikes !== 0) {
      this.reauthStrikes = 0;
      this.reauthBlockedUntil = 0;
    }
  }

  status(): TokenStatus {
    const token = this.cache.get(this.key);
    const now = this.now();
    return {
      hasToken: token !== undefined,
      expiresInMs: token ? token.receivedAt + token.lifetimeMs - now : undefined,
      grant: token?.grant,
      renewing: this.inflight !== undefined,
      lastFailure: this.failure,
      nextAttemptInMs: Math.max(0, this.nextAttemptAt - now),
      tokenStore: this.store.kind,
      tokenStoreShared: this.store.shared(),
      tokenStoreFallbacks: this.storeFallbacks,
    };
  }

  /** Starts a renewal unless one is running; every caller shares the same promise. */
  private renew(reason: RenewReason): Promise<CachedToken> {
    if (this.inflight) return this.inflight;
    const run = this.obtain(reason).finally(() => {
      this.inflight = undefined;
    });
    this.inflight = run;
    return run;
  }

  private async obtain(reason: RenewReason): Promise<CachedToken> {
    try {
      return this.keep(await this.renewThroughStore(reason));
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** The store renews (or hands out another replica's token); when it is unusable, renew alone. */
  private async renewThroughStore(reason: RenewReason): Promise<StoredToken> {
    const grant = (newestRefreshToken: string | undefined): Promise<Token> => this.grantWithQuickRetry(reason, newestRefreshToken);
    try {
      return await this.store.renew(this.generation, grant);
    } catch (err) {
      if (!isTokenStoreUnavailable(err)) throw err;
      this.storeFallbacks += 1;
      this.opts.hooks?.tokenStoreFallback?.(err.reason);
      this.log.debug({ event: 'token_store_fallback', store: this.store.kind, cause: err.reason, reason }, 'renewing without the shared token store');
      return { token: await grant(undefined), generation: undefined, source: 'granted' };
    }
  }

  /** Another replica stored a newer token: take it now, before SuiteCRM revokes ours (rotation). */
  private announced(generation: number): void {
    if (generation <= this.generation || this.inflight !== undefined || !this.store.latest) return;
    this.store.latest().then((stored) => {
      if (stored?.generation !== undefined && stored.generation > this.generation && this.inflight === undefined) this.keep(stored);
    }, () => { /* the next renewal consults the store anyway */ });
  }

  private async grantWithQuickRetry(reason: RenewReason, newestRefreshToken: string | undefined): Promise<Token> {
    // The shared store's refresh token is the newest of the fleet: ours may have been rotated away.
    // Ours stays as a spare only if the store never saw it (we renewed alone during an outage).
    this.spareRefreshToken = undefined;
    if (newestRefreshToken !== undefined && newestRefreshToken !== this.refreshToken) {
      if (!this.refreshTokenShared) this.spareRefreshToken = this.refreshToken;
      this.refreshToken = newestRefreshToken;
    }
    const started = this.now();
    try {
      return await this.obtainOnce(reason);
    } catch (err) {
      const quick = err instanceof TokenRequestError && err.failureClass === 'transient' && this.now() - started < QUICK_RETRY_WINDOW_MS;
      if (!quick) throw err;
      await delay(QUICK_RETRY_DELAY_MS + Math.round(this.random() * QUICK_RETRY_DELAY_MS));
      return this.obtainOnce(reason);
    }
  }

  /** Refresh grant first when we hold a refresh token, then the configured grant. */
  private async obtainOnce(reason: RenewReason): Promise<Token> {
    if (this.refreshToken !== undefined) {
      try {
        return await this.request({ grant: 'refresh_token', refreshToken: this.refreshToken }, reason);
      } catch (err) {
        if (!(err instanceof TokenRequestError) || err.failureClass !== 'refresh_rejected') throw err;
        this.refreshToken = this.spareRefreshToken;
        this.spareRefreshToken = undefined;
        if (this.refreshToken !== undefined) return this.obtainOnce(reason);
        if (this.opts.grantType === 'refresh_token') {
          throw new TokenRequestError('rejected', err.reason,
            'SuiteCRM rejected the refresh token and the refresh_token grant has nothing to fall back to; supply a new SUITECRM_REFRESH_TOKEN or use SUITECRM_GRANT_TYPE=password', err.status);
        }
      }
    }
    return this.request({ grant: this.opts.grantType }, reason);
  }

  private async request(request: GrantRequest, reason: RenewReason): Promise<Token> {
    const started = this.now();
    try {
      const token = await this.opts.fetchToken(request);
      this.opts.hooks?.tokenRequest?.(request.grant, 'success', this.now() - started);
      return token;
    } catch (err) {
      const failureClass = err instanceof TokenRequestError ? err.failureClass : 'transient';
      this.opts.hooks?.tokenRequest?.(request.grant, failureClass, this.now() - started);
      this.log.warn({
        event: 'token_request_failed', grant: request.grant, reason, failureClass,
        cause: err instanceof TokenRequestError ? err.reason : 'unexpected',
        status: err instanceof TokenRequestError ? err.status : undefined,
      }, err instanceof TokenRequestError ? err.detail : 'token request failed unexpectedly');
      throw err;
    }
  }

  private keep({ token, generation, source }: StoredToken): CachedToken {
    // Refresh tokens rotate: keep the newest, and keep the old one only if none came back.
    if (token.refreshToken !== undefined) {
      this.refreshToken = token.refreshToken;
      this.refreshTokenShared = generation !== undefined;
    }
    if (generation !== undefined) this.generation = Math.max(this.generation, generation);
    const cached: CachedToken = { ...scheduleFor(token, this.opts.refreshMarginMs), generation };
    const ttl = Math.max(1, Math.floor(cached.usableUntil - this.now()));
    this.cache.set(this.key, cached, { ttl });
    this.opts.hooks?.tokenStored?.(cached);
    if (this.failure) this.log.info({ event: 'token_recovered', grant: token.grant }, 'token endpoint recovered');
    this.failure = undefined;
    this.consecutiveFailures = 0;
    this.nextAttemptAt = 0;
    if (source === 'adopted') {
      this.opts.hooks?.tokenAdopted?.();
      this.log.info({ event: 'token_adopted', grant: token.grant, generation, expiresInSeconds: Math.round((cached.usableUntil - this.now()) / 1000) },
        'using the SuiteCRM access token another replica obtained');
      return cached;
    }
    this.log.info({
      event: 'token_obtained', grant: token.grant, expiresInSeconds: Math.round(token.lifetimeMs / 1000),
      expiresInReported: token.expiresInReported, refreshInSeconds: Math.round((cached.refreshAt - this.now()) / 1000),
      store: this.store.kind, generation,
    }, token.expiresInReported ? 'obtained a SuiteCRM access token' : 'obtained a SuiteCRM access token without a usable expires_in; assuming a short lifetime');
    return cached;
  }

  /** Records a failed renewal, sets the backoff, and returns the error for waiting callers. */
  private fail(err: unknown): ProxyError {
    const failure: TokenFailure = err instanceof TokenRequestError
      ? { failureClass: err.failureClass, reason: err.reason, detail: err.detail, at: this.now() }
      : { failureClass: 'transient', reason: 'unexpected', detail: 'the token request failed unexpectedly', at: this.now() };
    this.consecutiveFailures += 1;
    const slow = failure.failureClass === 'rejected' || failure.failureClass === 'misconfigured';
    const pause = slow
      ? backoffDelay(this.consecutiveFailures, this.opts.credentialsRetryMs * 2, this.opts.credentialsRetryMs * CREDENTIALS_RETRY_MAX_FACTOR, this.random)
      : backoffDelay(this.consecutiveFailures, TRANSIENT_BASE_MS, this.opts.tokenRetryMaxMs, this.random);
    this.nextAttemptAt = this.now() + pause;
    this.failure = failure;
    return this.unavailable(failure, pause);
  }

  private unavailable(failure: TokenFailure, waitMs: number): ProxyError {
    const retryAfterSeconds = waitMs / 1000;
    if (failure.failureClass === 'rejected') {
      return new ProxyError('CREDENTIALS_REJECTED', failure.detail, { retryAfterSeconds });
    }
    return new ProxyError('TOKEN_UNAVAILABLE', `no SuiteCRM token could be obtained: ${failure.detail}`, { retryAfterSeconds });
  }
}
