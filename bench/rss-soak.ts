/**
 * `--soak-minutes N`: steady load on the proxy for N minutes with RSS sampled every second, to
 * show memory stays flat. A garbage-collected heap saw-tooths, so the report compares the
 * per-minute peaks (and medians) of the first minute after warm-up with the last minute.
 */
import { processTree, rssBytes } from './procfs.js';
import { runWrk, type Method } from './wrk.js';
import { median } from './stats.js';

export interface SoakResult {
  readonly minutes: number;
  /** Peak and median RSS of each minute, MiB. */
  readonly peakMiB: number[];
  readonly medianMiB: number[];
  readonly requests: number;
  readonly errors: number;
  /** Last minute's peak against the second minute's (the first is warm-up), in percent. */
  readonly peakGrowthPercent: number;
  readonly medianGrowthPercent: number;
}

export interface SoakOptions {
  readonly wrk: string;
  readonly port: number;
  readonly pid: number;
  readonly minutes: number;
  readonly connections: number;
  readonly threads: number;
  readonly scripts: Record<Method, string>;
}

const CHUNK_SECONDS = 30;

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const minutes = Math.max(2, Math.round(o.minutes));
  const perMinute: number[][] = Array.from({ length: minutes }, () => []);
  const started = Date.now();
  const sampler = setInterval(() => {
    const minute = Math.floor((Date.now() - started) / 60_000);
    perMinute[Math.min(minute, minutes - 1)]?.push(rssBytes(processTree(o.pid)) / 2 ** 20);
  }, 1000);
  let requests = 0;
  let errors = 0;
  console.log(`soak: ${minutes} min of alternating GET/POST load on the proxy (${CHUNK_SECONDS} s runs)`);
  try {
    for (let i = 0; i < (minutes * 60) / CHUNK_SECONDS; i++) {
      const method: Method = i % 2 === 0 ? 'GET' : 'POST';
      const result = await runWrk({ wrk: o.wrk, port: o.port, method, script: o.scripts[method], seconds: CHUNK_SECONDS, connections: o.connections, threads: o.threads });
      requests += result.requests;
      errors += result.errors;
      console.log(`  soak ${(((i + 1) * CHUNK_SECONDS) / 60).toFixed(1)} min: ${result.rps.toFixed(0)} req/s`);
    }
  } finally {
    clearInterval(sampler);
  }
  const peakMiB = perMinute.map((m) => Math.max(0, ...m));
  const medianMiB = perMinute.map(median);
  const growth = (series: number[]): number => {
    const base = series[1] ?? 0;
    return base > 0 ? (((series.at(-1) ?? 0) - base) / base) * 100 : 0;
  };
  return { minutes, peakMiB, medianMiB, requests, errors, peakGrowthPercent: growth(peakMiB), medianGrowthPercent: growth(medianMiB) };
}
