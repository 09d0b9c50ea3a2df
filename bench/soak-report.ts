/**
 * Soak arithmetic and presentation: the per-interval table, a sparkline per series, the growth
 * check (RSS and heap after warm-up) and the token-request expectation.
 */
import { markdownTable, type TableColumn } from '../test/support/drill/report.js';

export interface ProcessSample {
  readonly atMs: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly eventLoopP50Ms: number;
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
}

/** One row of the soak table: the proxy's sample plus what the callers saw in that interval. */
export interface SoakRow extends ProcessSample {
  readonly requests: number;
  readonly failed: number;
  readonly tokenRequests: number;
  readonly latencyP99Ms: number;
}

const MB = 1024 * 1024;

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const SPARK = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[]): string {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return values.map((v) => SPARK[max === min ? 0 : Math.round(((v - min) / (max - min)) * (SPARK.length - 1))]).join('');
}

export interface GrowthVerdict {
  /** Median of the first third after warm-up vs the last third, in MB. */
  readonly firstMB: number;
  readonly lastMB: number;
  readonly slopeMBPerMin: number;
  readonly grew: boolean;
}

/**
 * "No growth trend after warm-up": the median of the last third of the samples may exceed the
 * median of the first third by at most `toleranceMB` or 10 %, whichever is larger.
 * Comparing medians of thirds ignores single GC spikes that a max or a last value would catch.
 */
export function growth(samples: readonly ProcessSample[], pick: (s: ProcessSample) => number, toleranceMB: number): GrowthVerdict {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const firstMB = median(samples.slice(0, third).map(pick)) / MB;
  const lastMB = median(samples.slice(-third).map(pick)) / MB;
  const slopeMBPerMin = slope(samples.map((s) => s.atMs / 60_000), samples.map((s) => pick(s) / MB));
  return { firstMB, lastMB, slopeMBPerMin, grew: lastMB - firstMB > Math.max(toleranceMB, firstMB * 0.1) };
}

const fixed = (digits: number) => (value: number): string => value.toFixed(digits);

export const SOAK_COLUMNS: ReadonlyArray<TableColumn<SoakRow>> = [
  { title: 't (s)', value: (r) => fixed(0)(r.atMs / 1000) },
  { title: 'requests', value: (r) => String(r.requests) },
  { title: 'failed', value: (r) => String(r.failed) },
  { title: 'token requests', value: (r) => String(r.tokenRequests) },
  { title: 'client p99 (ms)', value: (r) => fixed(1)(r.latencyP99Ms) },
  { title: 'event loop p99 (ms)', value: (r) => fixed(1)(r.eventLoopP99Ms) },
  { title: 'event loop max (ms)', value: (r) => fixed(1)(r.eventLoopMaxMs) },
  { title: 'RSS (MB)', value: (r) => fixed(1)(r.rssBytes / MB) },
  { title: 'heap used (MB)', value: (r) => fixed(1)(r.heapUsedBytes / MB) },
];

export function soakTable(rows: readonly SoakRow[]): string {
  return [
    markdownTable(rows, SOAK_COLUMNS),
    '',
    '```',
    `RSS        ${sparkline(rows.map((r) => r.rssBytes))}  ${fixed(1)(Math.min(...rows.map((r) => r.rssBytes)) / MB)}–${fixed(1)(Math.max(...rows.map((r) => r.rssBytes)) / MB)} MB`,
    `heap used  ${sparkline(rows.map((r) => r.heapUsedBytes))}  ${fixed(1)(Math.min(...rows.map((r) => r.heapUsedBytes)) / MB)}–${fixed(1)(Math.max(...rows.map((r) => r.heapUsedBytes)) / MB)} MB`,
    `EL p99     ${sparkline(rows.map((r) => r.eventLoopP99Ms))}  ${fixed(1)(Math.min(...rows.map((r) => r.eventLoopP99Ms)))}–${fixed(1)(Math.max(...rows.map((r) => r.eventLoopP99Ms)))} ms`,
    '```',
  ].join('\n');
}
