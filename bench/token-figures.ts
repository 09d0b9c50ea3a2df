/**
 * Token-side efficiency: how many token requests the proxy causes at steady load (one per TTL
 * window), for 1,000 concurrent cold requests (one) and for 100 concurrent 401s on the same
 * token (one), for one process and for a PROXY_WORKERS=2 group.
 */
import { scheduleFor } from '../src/suitecrm-token/token.js';
import { revokeUpstreamTokens, startProxy, startUpstream, upstreamStats } from './stack.js';
import { GET_PATH, runWrk, type Method } from './wrk.js';

/** Short enough to see several renewals in a bounded run; the margin is then capped at 25%. */
const SHORT_TTL_SECONDS = 10;
const STEADY_SECONDS = 25;
const COLD_CONCURRENCY = 1000;
const REJECTED_CONCURRENCY = 100;
const DEFAULT_REFRESH_MARGIN_MS = 60_000;

export interface SteadyFigure {
  readonly workers: number;
  readonly ttlSeconds: number;
  readonly loadSeconds: number;
  readonly tokenRequests: number;
  /** When the token manager renews a token of this TTL with default settings. */
  readonly expectedIntervalSeconds: number;
  /** Mean time between consecutive token requests during the load. */
  readonly measuredIntervalSeconds: number;
  /** Token requests per renewal window: expected interval / measured interval (1.0: one per window). */
  readonly perWindow: number;
  /** The same ratio applied to SuiteCRM's default expires_in of 3600 s. */
  readonly perHourAtDefaultTtl: number;
}

export interface BurstFigure {
  readonly workers: number;
  readonly scenario: 'cold' | 'rejected_401';
  readonly concurrent: number;
  readonly tokenRequests: number;
  readonly ok: number;
}

export interface TokenFiguresResult {
  readonly steady: SteadyFigure[];
  readonly bursts: BurstFigure[];
}

export function renewalIntervalSeconds(ttlSeconds: number): number {
  const cached = scheduleFor({ accessToken: 'x', lifetimeMs: ttlSeconds * 1000, expiresInReported: true, refreshToken: undefined, receivedAt: 0, grant: 'client_credentials', authorization: '' }, DEFAULT_REFRESH_MARGIN_MS);
  return cached.refreshAt / 1000;
}

async function burst(port: number, n: number): Promise<number> {
  const statuses = await Promise.all(Array.from({ length: n }, () =>
    fetch(`http://127.0.0.1:${port}${GET_PATH}`).then(async (r) => { await r.arrayBuffer(); return r.status; }, () => 0)));
  return statuses.filter((s) => s === 200).length;
}

export interface TokenFiguresOptions {
  readonly work: string;
  readonly wrk: string;
  readonly scripts: Record<Method, string>;
  readonly connections: number;
  readonly threads: number;
}

export async function tokenFigures(o: TokenFiguresOptions): Promise<TokenFiguresResult> {
  const steady: SteadyFigure[] = [];
  const bursts: BurstFigure[] = [];
  for (const workers of [1, 2]) {
    console.log(`token figures, ${workers} worker(s): steady load with expires_in ${SHORT_TTL_SECONDS} s for ${STEADY_SECONDS} s...`);
    const upstream = await startUpstream(o.work, `upstream-ttl-w${workers}`, ['--ttl', String(SHORT_TTL_SECONDS)]);
    const proxy = await startProxy(upstream.port, o.work, workers, `proxy-ttl-w${workers}`);
    try {
      await burst(proxy.port, 1);
      const before = (await upstreamStats(upstream.port)).tokenRequests;
      const load = await runWrk({ wrk: o.wrk, port: proxy.port, method: 'GET', script: o.scripts.GET, seconds: STEADY_SECONDS, connections: o.connections, threads: o.threads });
      const after = await upstreamStats(upstream.port);
      const tokenRequests = after.tokenRequests - before;
      // Intervals between consecutive token requests, the cold one included (it starts the first window).
      const times = after.tokenRequestTimes;
      const measured = times.length > 1 ? ((times.at(-1) ?? 0) - (times[0] ?? 0)) / (times.length - 1) / 1000 : Number.NaN;
      const interval = renewalIntervalSeconds(SHORT_TTL_SECONDS);
      const perWindow = interval / measured;
      steady.push({
        workers, ttlSeconds: SHORT_TTL_SECONDS, loadSeconds: load.seconds, tokenRequests,
        expectedIntervalSeconds: interval, measuredIntervalSeconds: measured, perWindow,
        perHourAtDefaultTtl: perWindow * (3600 / renewalIntervalSeconds(3600)),
      });
    } finally {
      await proxy.stop();
      await upstream.stop();
    }

    console.log(`token figures, ${workers} worker(s): ${COLD_CONCURRENCY} concurrent cold requests, then ${REJECTED_CONCURRENCY} concurrent 401s...`);
    // A slow token endpoint (200 ms) keeps every cold request waiting on the same renewal.
    const slowTokens = await startUpstream(o.work, `upstream-burst-w${workers}`, ['--token-delay-ms', '200']);
    const fresh = await startProxy(slowTokens.port, o.work, workers, `proxy-burst-w${workers}`);
    try {
      let before = (await upstreamStats(slowTokens.port)).tokenRequests;
      let ok = await burst(fresh.port, COLD_CONCURRENCY);
      bursts.push({ workers, scenario: 'cold', concurrent: COLD_CONCURRENCY, tokenRequests: (await upstreamStats(slowTokens.port)).tokenRequests - before, ok });
      await revokeUpstreamTokens(slowTokens.port);
      before = (await upstreamStats(slowTokens.port)).tokenRequests;
      ok = await burst(fresh.port, REJECTED_CONCURRENCY);
      bursts.push({ workers, scenario: 'rejected_401', concurrent: REJECTED_CONCURRENCY, tokenRequests: (await upstreamStats(slowTokens.port)).tokenRequests - before, ok });
    } finally {
      await fresh.stop();
      await slowTokens.stop();
    }
  }
  return { steady, bursts };
}
