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
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { ADMIN_PREFIX } from '../security/own-paths.js';
import { PROXY_ERROR_HEADER } from '../errors.js';
import { BucketHistogram, SeriesCounter } from './metric-series.js';
import { IN_FLIGHT_METRIC, METRIC_PREFIX } from './metric-names.js';
import { configReloadCounter, type ReloadOutcome } from './reload-metrics.js';
import { TokenMetrics } from './token-metrics.js';
import type { TokenHooks, TokenSources } from '../suitecrm-token/token.js';
import { PROXIED_METHODS } from '../proxy/plugin.js';
import { isCallerGone } from '../proxy/caller-gone.js';

export const METRICS_PATH = `${ADMIN_PREFIX}/metrics`;
/** The proxy's own endpoints, which are not counted as proxied requests. */
const ADMIN_PATHS = `${ADMIN_PREFIX}/`;
const PREFIX = METRIC_PREFIX;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const METHODS = [...PROXIED_METHODS, 'other'] as const;
const OTHER_METHOD = METHODS.length - 1;
const METHOD_INDEX = new Map<string, number>(PROXIED_METHODS.map((method, i) => [method, i]));

/** Series of suitecrm_proxy_requests_total: every method x status class, built once. */
const REQUEST_SERIES = METHODS.flatMap((method) => STATUS_CLASSES.map((status_class) => Object.freeze({ method, status_class })));

export const REPLAY_OUTCOMES = ['success', 'rejected', 'failed'] as const;

/** Upstream answers on loopback take milliseconds; slow SuiteCRM reports take up to a minute. */
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

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

  private readonly requests: SeriesCounter;
  private readonly upstreamSeconds: BucketHistogram;
  private readonly replays: SeriesCounter;
  private readonly tokens: TokenMetrics;
  readonly configReloaded: (outcome: ReloadOutcome) => void;

  /** Bound once, so a request adds a listener without allocating a closure. */
  readonly requestEnded = (): void => {
    this.inFlight -= 1;
  };

  constructor() {
    const registry = this.registry;
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
    this.tokens = new TokenMetrics(registry);
    this.configReloaded = configReloadCounter(registry);
    const inFlight = (): number => this.inFlight;
    // Read only when scraped; `collect` runs with the gauge as `this`.
    new Gauge({
      name: IN_FLIGHT_METRIC, help: 'Proxied requests received and not yet answered.', registers: [registry],
      collect() {
        this.set(inFlight());
      },
    });
  }

  /** The hooks the TokenManager of `credential` calls, followed by `extra` (e.g. a test's own hooks). */
  tokenHooks(credential: string, extra: Partial<TokenHooks> = {}): TokenHooks {
    return this.tokens.tokenHooks(credential, extra);
  }

  /** The credentials whose token status the gauges report. */
  watchTokens(tokens: TokenSources): void {
    this.tokens.watchTokens(tokens);
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
    // Null outside the proxy route (the local token endpoint, logout).
    const outcome = request.proxyOutcome;
    if (outcome === null) return;
    if (outcome.upstreamMs >= 0) this.upstreamSeconds.record(outcome.upstreamMs / 1000);
    // A replay whose caller hung up has no outcome to count (its request is counted as 499).
    if (outcome.replayed && !isCallerGone(reply)) this.replays.inc(replayOutcome(reply));
  }
}

/** What a scrape answers: this registry's text, or (a PROXY_WORKERS worker) the whole group's. */
export type MetricsExposition = () => Promise<string>;

/** Adds the hooks to the root instance (call before registering routes) and the scrape route. */
export function installMetrics(app: FastifyInstance, metrics: ProxyMetrics, exposition: MetricsExposition = () => metrics.registry.metrics()): void {
  app.addHook('onRequest', (request, reply, done) => {
    metrics.requestStarted(request, reply);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestAnswered(request, reply);
    done();
  });
  app.get(METRICS_PATH, async (_request, reply) => {
    const text = await exposition();
    reply.header('cache-control', 'no-store').type(metrics.registry.contentType);
    return text;
  });
}
