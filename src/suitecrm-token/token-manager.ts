/**
 * Owns the SuiteCRM token of one credential: lru-cache holds it for its lifetime (the entry's
 * TTL) and loads it through `fetchMethod`, which single-flights every renewal (cold start, 401,
 * refresh ahead, adoption from the shared store). Ahead of expiry one background `fetch`
 * (`forceRefresh` + `allowStale`) renews while the token in hand keeps being served.
 *
 * What lru-cache cannot do is written here, each with its reason: it has no notion of a refresh
 * time before the TTL (so `current()` compares `refreshAt`), it cannot mark an entry as rejected
 * without deleting it, and deleting an entry aborts its fetch in flight (so a 401 marks the token
 * instead), and backoff after a failed load is ours (renewal-policy.ts).
 *
 * The hot path is `current()`: synchronous, no promise, no allocation while the token is valid.
 * Renewals go through a TokenStore (token-store.ts): in memory by default, or shared with other
 * replicas (redis-store.ts); when a shared store fails, the manager renews alone meanwhile.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { GrantType } from '../config/settings.js';
import { ProxyError } from '../errors.js';
import type { SuiteCrmCredential } from '../config/suitecrm-credentials.js';
import { GrantSequence, type TokenFetcher } from './grant-sequence.js';
import { ReauthGuard } from './reauth-guard.js';
import { RefreshTokens } from './refresh-tokens.js';
import { RenewalPolicy } from './renewal-policy.js';
import { scheduleFor, type CachedToken, type RenewReason, type Token, type TokenHooks, type TokenSource, type TokenStatus } from './token.js';
import { isTokenStoreUnavailable, MemoryTokenStore, type StoredToken, type TokenStore } from './token-store.js';


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
  /** The credential's name, for error details that say which credential failed. */
  readonly credential?: Pick<SuiteCrmCredential, 'name' | 'fromSettings'>;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly hooks?: Partial<TokenHooks>;
  /** Where renewals are coordinated; default: this process only. */
  readonly store?: TokenStore;
}

/** What a load is for: a renewal (why), or taking a token another replica stored. */
type LoadContext = RenewReason | { readonly adopt: StoredToken };

export class TokenManager implements TokenSource {
  private readonly cache: LRUCache<string, CachedToken, LoadContext>;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly key: string;
  private readonly store: TokenStore;
  private readonly policy: RenewalPolicy;
  private readonly guard: ReauthGuard;
  private readonly refreshTokens: RefreshTokens;
  private readonly grants: GrantSequence;
  /** For status and the refresh-ahead hook only: lru-cache does not tell whether a load is in flight. */
  private renewing = false;
  /**
   * The cached token SuiteCRM answered 401 to. It stays in the cache, because deleting the entry
   * would abort a renewal in flight; `current()` skips it and the next `get()` forces a load.
   */
  private rejectedToken: CachedToken | undefined;
  /** Newest shared-store generation this process has seen (0: none). */
  private generation = 0;
  private storeFallbacks = 0;

  constructor(private readonly opts: TokenManagerOptions) {
    this.now = opts.now ?? Date.now;
    const random = opts.random ?? Math.random;
    this.log = opts.logger.child({ component: 'token' });
    this.key = opts.credentialKey;
    this.refreshTokens = new RefreshTokens(opts.initialRefreshToken);
    // The options are read on use, not copied: a configuration reload may turn them into new values.
    this.policy = new RenewalPolicy(opts, this.now, random);
    this.guard = new ReauthGuard(() => opts.tokenRetryMaxMs, this.now, random);
    this.grants = new GrantSequence(opts, this.refreshTokens, this.policy, this.now, this.log);
    this.cache = new LRUCache<string, CachedToken, LoadContext>({
      max: 1,
      ttlResolution: 0,
      perf: { now: this.now },
      // A failed refresh ahead keeps the still-valid token; a failed cold load leaves nothing.
      noDeleteOnFetchRejection: true,
      fetchMethod: (_key, _stale, { options, context }) => this.load(context, options),
    });
    this.store = opts.store ?? new MemoryTokenStore();
    this.store.onRenewed?.((generation) => this.announced(generation));
  }

  /** The token to use right now, or undefined. Starts a background refresh when it is due. */
  current(): CachedToken | undefined {
    const token = this.cache.get(this.key);
    if (token === undefined || token === this.rejectedToken) return undefined;
    if (this.now() >= token.refreshAt) this.refreshAhead();
    return token;
  }

  /** A usable token, waiting for a renewal when needed; rejects fast with a ProxyError otherwise. */
  get(reason: RenewReason = 'cold'): Promise<CachedToken> {
    const token = this.current();
    if (token !== undefined) return Promise.resolve(token);
    if (!this.renewing) {
      const refusal = this.policy.refusal();
      if (refusal) return Promise.reject(refusal);
    }
    // forceRefresh: the entry may still hold a rejected token that lru-cache deems fresh. A load
    // in flight is joined, not repeated: that is the single flight.
    return this.cache.fetch(this.key, { forceRefresh: true, context: reason }).then((fresh) => {
      if (fresh === undefined) throw new ProxyError('TOKEN_UNAVAILABLE', 'no SuiteCRM token could be obtained; see the proxy log');
      return fresh;
    });
  }

  /**
   * SuiteCRM answered 401 to a request that carried `token`. Returns true when the request may
   * be replayed (with whatever `get()` yields next), false when it must go back to the caller.
   */
  rejected(token: Token & { readonly generation?: number }): boolean {
    if (this.guard.blocked()) return false;
    this.drop(token);
    return true;
  }

  /**
   * The replay got 401 too. A fresh token refused on its first use means SuiteCRM refuses every
   * token, so back off (once per token, however many replays carried it); a token that had
   * worked before was revoked and is renewed like after any 401. Returns the pause in ms that
   * this call started, during which 401s are passed back without renewing (0: none started).
   */
  replayRejected(token: Token & { readonly generation?: number }): number {
    const verdict = this.guard.replayRejected(token);
    if (verdict.kind === 'revoked') {
      this.drop(token);
      return 0;
    }
    if (verdict.kind === 'already_counted') return 0;
    this.log.warn({ event: 'token_rejected_after_renewal', grant: token.grant, pauseMs: verdict.pauseMs },
      'SuiteCRM rejected a freshly obtained token; passing 401s back without renewing for a while (check the API user and SuiteCRM OAuth2 keys)');
    return verdict.pauseMs;
  }

  /** A request succeeded with `token`: it is proven, and the 401 loop guard can relax. */
  accepted(token: Token): void {
    this.guard.accepted(token);
  }

  /**
   * The credential's settings changed (a reload, or the re-read after a rejection found new
   * content): the pause and backoff were about the old values. Without a usable token the new
   * values are tried at once, so the credential heals without waiting for a caller.
   */
  credentialsChanged(): void {
    const wasFailing = this.policy.lastFailure !== undefined;
    this.policy.reset();
    if (wasFailing) this.renewNowIfNoToken('credentials_changed');
  }

  /** An operator's "try again now" (SIGHUP): a paused credential is retried once, at once. */
  retryNow(): void {
    if (this.policy.allowNow()) this.renewNowIfNoToken('sighup');
  }

  /** Drops `token` if it is still the current one: fifty 401s for it cause one renewal. */
  private drop(token: Token & { readonly generation?: number }): void {
    const cached = this.cache.get(this.key);
    if (cached === undefined || cached === this.rejectedToken || cached.accessToken !== token.accessToken) return;
    this.rejectedToken = cached;
    // The shared copy is dropped only if it is still this generation (never a newer token).
    if (token.generation !== undefined) this.store.invalidate(token.generation);
    this.opts.hooks?.tokenInvalidated?.();
    this.log.info({ event: 'token_invalidated', grant: token.grant }, 'SuiteCRM rejected the access token (401); renewing it');
  }

  /** A background renewal now, unless one runs or a token is in hand (it stays in use until its refresh). */
  private renewNowIfNoToken(cause: 'credentials_changed' | 'sighup'): void {
    this.log.info({ event: 'token_pause_ended', cause }, cause === 'sighup'
      ? 'SIGHUP: trying the paused SuiteCRM credential again now'
      : 'the SuiteCRM credential changed: its pause is over and the new values are used from the next token request');
    if (this.renewing || this.current() !== undefined) return;
    this.get('reload').catch(() => { /* logged in load(); the policy paces the next attempt */ });
  }

  status(): TokenStatus {
    const cached = this.cache.peek(this.key);
    const token = cached === this.rejectedToken ? undefined : cached;
    return {
      hasToken: token !== undefined,
      expiresInMs: token ? token.receivedAt + token.lifetimeMs - this.now() : undefined,
      grant: token?.grant,
      renewing: this.renewing,
      lastFailure: this.policy.lastFailure,
      nextAttemptInMs: this.policy.waitMs(),
      tokenStore: this.store.kind,
      tokenStoreShared: this.store.shared(),
      tokenStoreFallbacks: this.storeFallbacks,
    };
  }

  /** Due for its refresh: one background load, while `current()` keeps serving the token in hand. */
  private refreshAhead(): void {
    if (this.renewing || this.policy.waitMs() > 0) return;
    this.opts.hooks?.refreshAhead?.();
    this.cache.fetch(this.key, { forceRefresh: true, allowStale: true, context: 'refresh_ahead' })
      .catch(() => { /* logged in load(); the current token stays in use */ });
  }

  /** lru-cache's fetchMethod: the one place a token enters the cache, its TTL set from its lifetime. */
  private async load(context: LoadContext, options: LRUCache.FetcherFetchOptions<string, CachedToken, LoadContext>): Promise<CachedToken> {
    this.renewing = true;
    try {
      const cached = this.keep(typeof context === 'object' ? context.adopt : await this.renewThroughStore(context));
      // lru-cache counts an entry stale once its age exceeds the TTL: from usableUntil on.
      options.ttl = Math.max(1, cached.usableUntil - this.now() - 1);
      this.rejectedToken = undefined;
      return cached;
    } catch (err) {
      throw this.policy.failed(err);
    } finally {
      this.renewing = false;
    }
  }

  /** The store renews (or hands out another replica's token); when it is unusable, renew alone. */
  private async renewThroughStore(reason: RenewReason): Promise<StoredToken> {
    const grant = (newestRefreshToken: string | undefined): Promise<Token> => this.grants.run(reason, newestRefreshToken);
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
    if (generation <= this.generation || this.renewing || !this.store.latest) return;
    this.store.latest().then((stored) => {
      if (stored?.generation === undefined || stored.generation <= this.generation || this.renewing) return;
      // Through fetch(), so a renewal that started meanwhile is joined instead of overwritten.
      return this.cache.fetch(this.key, { forceRefresh: true, allowStale: true, context: { adopt: stored } });
    }).catch(() => { /* the next renewal consults the store anyway */ });
  }

  /** Bookkeeping for a token about to enter the cache: refresh token, generation, logs, hooks. */
  private keep({ token, generation, source }: StoredToken): CachedToken {
    this.refreshTokens.received(token.refreshToken, generation !== undefined);
    if (generation !== undefined) this.generation = Math.max(this.generation, generation);
    const cached: CachedToken = { ...scheduleFor(token, this.opts.refreshMarginMs), generation };
    this.opts.hooks?.tokenStored?.(cached);
    if (this.policy.succeeded()) this.log.info({ event: 'token_recovered', grant: token.grant }, 'token endpoint recovered');
    const expiresInSeconds = Math.round((cached.usableUntil - this.now()) / 1000);
    if (source === 'adopted') {
      this.opts.hooks?.tokenAdopted?.();
      this.log.info({ event: 'token_adopted', grant: token.grant, generation, expiresInSeconds }, 'using the SuiteCRM access token another replica obtained');
      return cached;
    }
    this.log.info({
      event: 'token_obtained', grant: token.grant, expiresInSeconds: Math.round(token.lifetimeMs / 1000),
      expiresInReported: token.expiresInReported, refreshInSeconds: Math.round((cached.refreshAt - this.now()) / 1000),
      store: this.store.kind, generation,
    }, token.expiresInReported ? 'obtained a SuiteCRM access token' : 'obtained a SuiteCRM access token without a usable expires_in; assuming a short lifetime');
    return cached;
  }
}
