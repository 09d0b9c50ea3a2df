/**
 * The SuiteCRM token metrics, recorded through TokenHooks in the process that owns the
 * TokenManagers: the app itself, or the PROXY_WORKERS primary (whose figures every worker's scrape
 * includes, see src/cluster/group-metrics.ts). Split by SuiteCRM credential (a handful of names
 * from the configuration).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GrantType } from '../config/settings.js';
import { eachSource, type TokenHooks, type TokenSources, type TokenStatus } from '../suitecrm-token/token.js';
import { METRIC_PREFIX as PREFIX } from './metric-names.js';

const TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class TokenMetrics {
  private tokens: TokenSources | undefined;
  private readonly tokenRequests: Counter<'grant' | 'outcome' | 'credential'>;
  private readonly tokenRequestSeconds: Histogram<'grant' | 'credential'>;
  private readonly refreshesAhead: Counter<'credential'>;
  private readonly invalidations: Counter<'credential'>;
  private readonly storeFallbacks: Counter<'credential'>;
  private readonly adoptions: Counter<'credential'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.tokenRequests = new Counter({
      name: `${PREFIX}token_requests_total`, help: 'Token requests sent to SuiteCRM, by grant, outcome (success, rejected, misconfigured, refresh_rejected, transient) and credential.',
      labelNames: ['grant', 'outcome', 'credential'], registers,
    });
    this.tokenRequestSeconds = new Histogram({
      name: `${PREFIX}token_request_duration_seconds`, help: 'Duration of token requests, by grant and credential.',
      labelNames: ['grant', 'credential'], buckets: TOKEN_BUCKETS, registers,
    });
    this.refreshesAhead = new Counter({
      name: `${PREFIX}token_refreshes_ahead_total`, help: 'Background token renewals started before the current token expired, by credential.', labelNames: ['credential'], registers,
    });
    this.invalidations = new Counter({
      name: `${PREFIX}token_invalidations_total`, help: 'Tokens dropped because SuiteCRM answered 401 for them, by credential.', labelNames: ['credential'], registers,
    });
    this.storeFallbacks = new Counter({
      name: `${PREFIX}token_store_fallbacks_total`, help: 'Times the shared token store (Redis) could not be used and this replica renewed a token alone, by credential.', labelNames: ['credential'], registers,
    });
    this.adoptions = new Counter({
      name: `${PREFIX}token_adopted_total`, help: 'Tokens taken over from the shared store (renewed by another replica) instead of requested from SuiteCRM, by credential.', labelNames: ['credential'], registers,
    });
    this.registerGauges(registers);
  }

  /** Gauges are read only when scraped; `collect` runs with the gauge as `this`. */
  private registerGauges(registers: Registry[]): void {
    const statuses = (): Array<[string, TokenStatus]> =>
      this.tokens === undefined ? [] : eachSource(this.tokens).map(([name, source]) => [name, source.status()]);
    new Gauge({
      name: `${PREFIX}token_expires_in_seconds`, help: 'Seconds until the current access token of each credential expires; 0 while the proxy holds none.', labelNames: ['credential'], registers,
      collect() {
        this.reset();
        for (const [credential, status] of statuses()) this.set({ credential }, status.expiresInMs === undefined ? 0 : Math.max(0, status.expiresInMs / 1000));
      },
    });
    new Gauge({
      name: `${PREFIX}token_store_fallback`, help: '1 while the shared token store (TOKEN_STORE=redis) is unusable and this replica renews the credential\'s token alone, else 0.', labelNames: ['credential'], registers,
      collect() {
        this.reset();
        for (const [credential, status] of statuses()) this.set({ credential }, status.tokenStore !== 'memory' && !status.tokenStoreShared ? 1 : 0);
      },
    });
  }

  /** The hooks the TokenManager of `credential` calls, followed by `extra` (e.g. a test's own hooks). */
  tokenHooks(credential: string, extra: Partial<TokenHooks> = {}): TokenHooks {
    const labels = { credential };
    // Zero series from the start, so a dashboard sees every credential before its first event.
    for (const counter of [this.refreshesAhead, this.invalidations, this.storeFallbacks, this.adoptions]) counter.inc(labels, 0);
    return {
      tokenRequest: (grant: GrantType, outcome, durationMs) => {
        this.tokenRequests.inc({ grant, outcome, credential });
        this.tokenRequestSeconds.observe({ grant, credential }, durationMs / 1000);
        extra.tokenRequest?.(grant, outcome, durationMs);
      },
      refreshAhead: () => {
        this.refreshesAhead.inc(labels);
        extra.refreshAhead?.();
      },
      tokenInvalidated: () => {
        this.invalidations.inc(labels);
        extra.tokenInvalidated?.();
      },
      tokenStoreFallback: (reason: string) => {
        this.storeFallbacks.inc(labels);
        extra.tokenStoreFallback?.(reason);
      },
      tokenAdopted: () => {
        this.adoptions.inc(labels);
        extra.tokenAdopted?.();
      },
      tokenStored: (token) => extra.tokenStored?.(token),
    };
  }

  /** The credentials whose token status the gauges report. */
  watchTokens(tokens: TokenSources): void {
    this.tokens = tokens;
  }
}
