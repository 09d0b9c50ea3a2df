/**
 * Prometheus metrics (prom-client), served at GET /_proxy/metrics.
 *
 * Every app owns its Registry, so tests can build several apps in one process. The per-request
 * work is a few array increments (metric-series.ts): label values come from small fixed sets whose
 * label objects are built once, the status class is arithmetic, and prom-client only sees the
 * totals (and the gauges are only read) when scraped.
 * The proxy's own endpoints (/_proxy/...) are not counted as proxied requests.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ADMIN_PREFIX } from './probes.js';
import type { GrantType } from '../config/settings.js';
import { PROXY_ERROR_HEADER } from '../errors.js';
import { BucketHistogram, SeriesCounter } from './metric-series.js';
import { eachSource, type TokenHooks, type TokenSources, type TokenStatus } from '../suitecrm-token/token.js';
import { PROXIED_METHODS } from '../proxy/plugin.js';
import { CALLER_CLOSED_STATUS } from '../proxy/caller-gone.js';

export const METRICS_PATH = `${ADMIN_PREFIX}/metrics`;
/** The proxy's own endpoints, which are not counted as proxied requests. */
const ADMIN_PATHS = `${ADMIN_PREFIX}/`;
export const METRIC_PREFIX = 'suitecrm_proxy_';
const PREFIX = METRIC_PREFIX;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const METHODS = [...PROXIED_METHODS, 'other'] as const;
const OTHER_METHOD = METHODS.length - 1;
const METHOD_INDEX = new Map<string, number>(PROXIED_METHODS.map((method, i) => [method, i]));

/** Series of suitecrm_proxy_requests_total: every method x status class, built once. */
const REQUEST_SERIES = METHODS.flatMap((method) => STATUS_CLASSES.map((status_class) => Object.freeze({ method, status_class })));

export const REPLAY_OUTCOMES = ['success', 'rejected', 'failed'] as const;
export const RELOAD_OUTCOMES = ['success', 'failed'] as const;

/** Upstream answers on loopback take milliseconds; slow SuiteCRM reports take up to a minute. */
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Index into REQUEST_SERIES: method row, status class column. */
function requestSeries(method: string, status: number): number {
  const cls = Math.trunc(status / 100) - 1;
  const statusClass = cls >= 0 && cls < STATUS_CLASSES.length ? cls : STATUS_CLASSES.length - 1;
  return (METHOD_INDEX.get(method) ?? OTHER_METHOD) * STATUS_CLASSES.length + statusClass;
}

/** 401 replays: the replayed request got 401 again, failed in the proxy, or got any other answer. */
function replayOutcome(reply: FastifyReply): number {
  if (reply.hasHeader(PROXY_ERROR_HEADER)) return REPLAY_OUTCOMES.indexOf('failed');
  return REPLAY_OUTCOMES.indexOf(reply.statusCode === 401 ? 'rejected' : 'success');
}

export class ProxyMetrics {
  readonly registry = new Registry();
  /** Proxied requests received and not yet answered or aborted. */
  private inFlight = 0;
  private tokens: TokenSources | undefined;

  private readonly requests: SeriesCounter;
  private readonly upstreamSeconds: BucketHistogram;
  private readonly replays: SeriesCounter;
  // Token metrics are split by SuiteCRM credential (a handful of names from the configuration).
  private readonly tokenRequests: Counter<'grant' | 'outcome' | 'credential'>;
  private readonly tokenRequestSeconds: Histogram<'grant' | 'credential'>;
  private readonly refreshesAhead: Counter<'credential'>;
  private readonly invalidations: Counter<'credential'>;
  private readonly storeFallbacks: Counter<'credential'>;
  private readonly adoptions: Counter<'credential'>;
  private readonly configReloads: Counter<'outcome'>;

  /** Bound once, so a request adds a listener without allocating a closure. */
  readonly requestEnded = (): void => {
    this.inFlight -= 1;
  };

  constructor() {
    const registry = this.registry;
    const registers = [registry];
    collectDefaultMetrics({ register: registry });
    // Split by the inbound caller (src/security): one series set per name in PROXY_CLIENTS, plus
    // "anonymous" and "-" (no caller identified: refused before or at authentication).
    this.requests = new SeriesCounter({
      name: `${PREFIX}requests_total`, help: 'Requests proxied to SuiteCRM (including the proxy\'s own error answers), by method, status class and caller.',
      labelNames: ['method', 'status_class'], series: REQUEST_SERIES, registry, keyLabel: 'caller',
    });
    this.upstreamSeconds = new BucketHistogram({
      name: `${PREFIX}upstream_duration_seconds`, help: 'Time SuiteCRM took to answer a proxied request with response headers (the answer passed back; a replayed request counts its replay).',
      buckets: UPSTREAM_BUCKETS, registry,
    });
    this.replays = new SeriesCounter({
      name: `${PREFIX}replays_total`, help: 'Requests replayed with a new token after SuiteCRM answered 401, by outcome: success (not 401), rejected (401 again), failed (no token or SuiteCRM unreachable).',
      labelNames: ['outcome'], series: REPLAY_OUTCOMES.map((outcome) => ({ outcome })), registry, showZero: true,
    });
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
    this.configReloads = new Counter({
      name: `${PREFIX}config_reloads_total`, help: 'Configuration reloads (SIGHUP, a changed config or secret file), by outcome: success (applied) or failed (invalid, nothing changed).',
      labelNames: ['outcome'], registers,
    });
    for (const outcome of RELOAD_OUTCOMES) this.configReloads.inc({ outcome }, 0);
    this.registerGauges(registers);
  }

  /** Gauges are read only when scraped; `collect` runs with the gauge as `this`. */
  private registerGauges(registers: Registry[]): void {
    const statuses = (): Array<[string, TokenStatus]> =>
      this.tokens === undefined ? [] : eachSource(this.tokens).map(([name, source]) => [name, source.status()]);
    const inFlight = () => this.inFlight;
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
    new Gauge({
      name: `${PREFIX}requests_in_flight`, help: 'Proxied requests received and not yet answered.', registers,
      collect() {
        this.set(inFlight());
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

  configReloaded(outcome: (typeof RELOAD_OUTCOMES)[number]): void {
    this.configReloads.inc({ outcome });
  }

  /** The credentials whose token status the gauges report. */
  watchTokens(tokens: TokenSources): void {
    this.tokens = tokens;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  requestStarted(request: FastifyRequest, reply: FastifyReply): void {
    if (request.url.startsWith(ADMIN_PATHS)) return;
    this.inFlight += 1;
    // 'close' fires once whether the response finished or the client went away.
    reply.raw.on('close', this.requestEnded);
  }

  requestAnswered(request: FastifyRequest, reply: FastifyReply): void {
    if (request.url.startsWith(ADMIN_PATHS)) return;
    this.requests.inc(requestSeries(request.method, reply.statusCode), request.caller || '-');
    const outcome = request.proxyOutcome;
    // null on other routes, undefined where the proxy's decoration is not defined (the not-found handler).
    if (!outcome) return;
    if (outcome.upstreamMs >= 0) this.upstreamSeconds.record(outcome.upstreamMs / 1000);
    // A replay whose caller hung up has no outcome to count (its request is counted as 499).
    if (outcome.replayed && reply.statusCode !== CALLER_CLOSED_STATUS) this.replays.inc(replayOutcome(reply));
  }
}

/** Adds the hooks to the root instance (call before registering routes) and the scrape route. */
export function installMetrics(app: FastifyInstance, metrics: ProxyMetrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    metrics.requestStarted(request, reply);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestAnswered(request, reply);
    done();
  });
  app.get(METRICS_PATH, async (_request, reply) => {
    reply.header('cache-control', 'no-store').type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
