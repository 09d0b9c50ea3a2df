/**
 * The benchmark's results as one JSON document and the same figures as a Markdown report:
 * the table, the ratios, the issue's targets (met or missed, by how much) and the token figures.
 */
import { find, fixed, hotPathSections } from './report-hot-path.js';
import type { PacedResult } from './paced.js';
import type { SoakResult } from './rss-soak.js';
import type { StartupFigure } from './startup.js';
import type { TokenFiguresResult } from './token-figures.js';
import type { Method, WrkResult } from './wrk.js';

export interface Sample extends WrkResult {
  readonly case: string;
  readonly method: Method;
  readonly rep: number;
  readonly cpuUsPerRequest: number | undefined;
  readonly rssLoadBytes: number | undefined;
}

export interface PacedSample extends PacedResult {
  readonly case: string;
  readonly method: Method;
  readonly round: number;
}

export interface CaseSummary {
  readonly case: string;
  readonly label: string;
  readonly method: Method;
  /** Medians over the repetitions. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerRequest: number | undefined;
  readonly rssIdleBytes: number | undefined;
  /** Peak over every repetition. */
  readonly rssLoadBytes: number | undefined;
  readonly errors: number;
}

export interface Report {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: { cpus: number; cpuModel: string; node: string; loadAverageBefore: string; loadAverageAfter: string };
  readonly settings: {
    seconds: number; reps: number; connections: number; threads: number; wrk: string;
    /** The fixed-rate latency phase (hey): requests/s, seconds per run, rounds. */
    paced: { rate: number; seconds: number; rounds: number };
  };
  readonly notes: string[];
  readonly summaries: CaseSummary[];
  readonly samples: Sample[];
  readonly paced: PacedSample[];
  readonly startup: StartupFigure[];
  /** Token requests during the whole measured load of the main phase (TTL 3600 s). */
  readonly steadyTokenRequests: { during: number; loadSeconds: number };
  readonly tokens: TokenFiguresResult | undefined;
  readonly soak: SoakResult | undefined;
}

const RSS_LIMIT_MIB = 120;
const mib = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / 2 ** 20).toFixed(1));

function ratio(a: CaseSummary | undefined, b: CaseSummary | undefined): number | undefined {
  return a && b && b.rps > 0 ? a.rps / b.rps : undefined;
}

function mainTable(report: Report): string[] {
  const lines = [
    '| case | method | req/s | p50 ms | p99 ms | +p50 ms | +p99 ms | CPU µs/req | RSS idle MiB | RSS load MiB | × direct | × bare | × nginx | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.summaries) {
    const direct = find(report, 'direct', s.method);
    const isDirect = s.case === 'direct';
    lines.push(`| ${s.label} | ${s.method} | ${s.rps.toFixed(0)} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(2)} | ` +
      `${isDirect || !direct ? '–' : (s.p50Ms - direct.p50Ms).toFixed(2)} | ${isDirect || !direct ? '–' : (s.p99Ms - direct.p99Ms).toFixed(2)} | ` +
      `${fixed(s.cpuUsPerRequest, 1)} | ${mib(s.rssIdleBytes)} | ${mib(s.rssLoadBytes)} | ` +
      `${isDirect ? '1.00' : fixed(ratio(s, direct), 2)} | ${fixed(ratio(s, find(report, 'bare', s.method)), 2)} | ${fixed(ratio(s, find(report, 'nginx', s.method)), 2)} | ${s.errors} |`);
  }
  return lines;
}

function targets(report: Report): string[] {
  const lines = ['| target | GET | POST |', '| --- | --- | --- |'];
  const row = (label: string, check: (m: Method) => string): void => { lines.push(`| ${label} | ${check('GET')} | ${check('POST')} |`); };
  const verdict = (value: number | undefined, goal: number, higherIsBetter: boolean, digits = 2, unit = ''): string => {
    if (value === undefined) return 'not measured';
    const met = higherIsBetter ? value >= goal : value < goal;
    return `${value.toFixed(digits)}${unit} ${met ? 'met' : `missed by ${Math.abs(value - goal).toFixed(digits)}${unit}`}`;
  };
  row('proxy ≥ 0.95 × bare Fastify proxy (req/s)', (m) => verdict(ratio(find(report, 'proxy', m), find(report, 'bare', m)), 0.95, true));
  row('proxy ≥ 0.5 × nginx (req/s)', (m) => verdict(ratio(find(report, 'proxy', m), find(report, 'nginx', m)), 0.5, true));
  row('added p99 over direct < 3 ms', (m) => {
    const p = find(report, 'proxy', m);
    const d = find(report, 'direct', m);
    return verdict(p && d ? p.p99Ms - d.p99Ms : undefined, 3, false, 2, ' ms');
  });
  row(`RSS under load < ${RSS_LIMIT_MIB} MiB`, (m) => {
    const bytes = find(report, 'proxy', m)?.rssLoadBytes;
    return verdict(bytes === undefined ? undefined : bytes / 2 ** 20, RSS_LIMIT_MIB, false, 1, ' MiB');
  });
  return lines;
}

function tokenSection(report: Report): string[] {
  const lines = [
    `Main phase (expires_in 3600 s): ${report.steadyTokenRequests.during} token requests during ${report.steadyTokenRequests.loadSeconds.toFixed(0)} s of measured load, after the first token of each proxy.`,
    '',
  ];
  const t = report.tokens;
  if (!t) return [...lines, 'Token figures were skipped (--no-token-figures).'];
  lines.push('| workers | scenario | token requests | expected | detail |', '| ---: | --- | ---: | --- | --- |');
  for (const s of t.steady) {
    lines.push(`| ${s.workers} | steady load, expires_in ${s.ttlSeconds} s, ${s.loadSeconds.toFixed(0)} s | ${s.tokenRequests} | one per ${s.expectedIntervalSeconds.toFixed(1)} s | ` +
      `one every ${s.measuredIntervalSeconds.toFixed(2)} s = ${s.perWindow.toFixed(2)} per renewal window; at SuiteCRM's expires_in 3600 s: ${s.perHourAtDefaultTtl.toFixed(2)} per hour |`);
  }
  for (const b of t.bursts) {
    const label = b.scenario === 'cold' ? `${b.concurrent} concurrent cold requests` : `${b.concurrent} concurrent 401s on the same token`;
    lines.push(`| ${b.workers} | ${label} | ${b.tokenRequests} | 1 | ${b.ok}/${b.concurrent} answered 200 |`);
  }
  return lines;
}

export function markdownReport(report: Report): string {
  const m = report.machine;
  const s = report.settings;
  const out = [
    `# Benchmark results, ${report.startedAt}`,
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, Node.js ${m.node}; load average before ${m.loadAverageBefore}, after ${m.loadAverageAfter}.`,
    `wrk -t${s.threads} -c${s.connections}, ${s.seconds} s per run, ${s.reps} repetitions per case and method, cases alternated; medians shown. RSS idle: after warm-up and 2 s without load; RSS under load: the peak, sampled every 250 ms.`,
    'GET: 1 KB JSON:API document. POST: 2 KB body, 1 KB answer. CPU is user+system time of the proxy process tree from /proc per request served.',
    ...report.notes.map((n) => `Note: ${n}.`),
    '',
    ...mainTable(report),
    '',
    '## Targets (issue 5), proxy = suitecrm-auth-proxy with 1 worker',
    '',
    ...targets(report),
    '',
    ...hotPathSections(report),
    '## Token requests',
    '',
    ...tokenSection(report),
    '',
  ];
  if (report.soak) {
    const k = report.soak;
    const list = (v: number[]): string => v.map((x) => x.toFixed(1)).join(', ');
    out.push('## Soak', '', `${k.minutes} min of load on the proxy (1 worker), RSS sampled every second. Per minute, peak MiB: ${list(k.peakMiB)}; median MiB: ${list(k.medianMiB)}. ` +
      `Last minute against the second (the first is warm-up): peak ${k.peakGrowthPercent.toFixed(1)}%, median ${k.medianGrowthPercent.toFixed(1)}% (target: growth < 5%). ` +
      `${k.requests} requests, ${k.errors} errors.`, '');
  }
  return out.join('\n');
}
