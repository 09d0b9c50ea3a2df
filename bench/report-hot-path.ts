/**
 * The report's sections for the hot path (issue 21): latency at a fixed rate, start-up time, the
 * fleet features (a keyed caller, a local token) on an in-memory against a TOKEN_STORE=redis
 * proxy, and the issue's targets, each figure against the bare @fastify/http-proxy of the same run.
 */
import type { CaseSummary, PacedSample, Report } from './report.js';
import { median } from './stats.js';
import { METHODS, type Method } from './wrk.js';

/** A figure to `digits` decimals, or – when there is none. */
export const fixed = (n: number | undefined, digits: number): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));

/** Targets of issue 21, all against bare in the same run. */
const TARGETS = { cpuGet: 1.1, cpuPost: 1.0, pacedP50Ms: 0.2, pacedP99Ms: 1.0, idleRssMiB: 15, startupMs: 600 } as const;

interface PacedSummary {
  readonly case: string;
  readonly method: Method;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly errors: number;
}

function pacedSummaries(samples: readonly PacedSample[]): PacedSummary[] {
  const names = [...new Set(samples.map((s) => s.case))];
  return names.flatMap((name) => METHODS.map((method) => {
    const mine = samples.filter((s) => s.case === name && s.method === method);
    return {
      case: name, method,
      p50Ms: median(mine.map((s) => s.p50Ms)),
      p99Ms: median(mine.map((s) => s.p99Ms)),
      requests: mine.reduce((n, s) => n + s.requests, 0),
      errors: mine.reduce((n, s) => n + s.errors, 0),
    };
  })).filter((s) => s.requests > 0);
}

function pacedSection(report: Report): string[] {
  const summaries = pacedSummaries(report.paced);
  if (summaries.length === 0) return ['Not measured (hey missing, or --paced-rounds 0).'];
  const p = report.settings.paced;
  const lines = [
    `hey, 5 workers paced to ${p.rate} requests/s in total, ${p.rounds} rounds × ${p.seconds} s per case and method, alternated; the median of the rounds' percentiles, each interpolated within hey's 0.1 ms steps.`,
    '',
    '| case | method | p50 ms | p99 ms | p50 − bare ms | p99 − bare ms | requests | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of summaries) {
    const bare = summaries.find((b) => b.case === 'bare' && b.method === s.method);
    lines.push(`| ${s.case} | ${s.method} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(2)} | ${fixed(bare && s.p50Ms - bare.p50Ms, 2)} | ${fixed(bare && s.p99Ms - bare.p99Ms, 2)} | ${s.requests} | ${s.errors} |`);
  }
  return lines;
}

function startupSection(report: Report): string[] {
  if (report.startup.length === 0) return ['Not measured (--starts 0).'];
  return [
    '| case | median ms | every start, ms |',
    '| --- | ---: | --- |',
    ...report.startup.map((s) => `| ${s.label} | ${s.medianMs.toFixed(0)} | ${s.samplesMs.map((ms) => ms.toFixed(0)).join(', ')} |`),
  ];
}

/** The summary of one case and method. */
export function find(report: Report, name: string, method: Method): CaseSummary | undefined {
  return report.summaries.find((s) => s.case === name && s.method === method);
}

function cpuRatio(report: Report, name: string, base: string, method: Method): number | undefined {
  const a = find(report, name, method)?.cpuUsPerRequest;
  const b = find(report, base, method)?.cpuUsPerRequest;
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

/** A fleet feature's CPU per request, in-memory against Redis, and the in-memory one against the plain proxy. */
function fleetSection(report: Report, memory: string, redis: string): string[] {
  if (find(report, memory, 'GET') === undefined || find(report, redis, 'GET') === undefined) return [`Not measured (cases ${memory} and ${redis}).`];
  const lines = ['| | GET CPU µs/req | POST CPU µs/req |', '| --- | ---: | ---: |'];
  const cpu = (name: string, m: Method): string => fixed(find(report, name, m)?.cpuUsPerRequest, 1);
  const ratio = (name: string, base: string): string => `${fixed(cpuRatio(report, name, base, 'GET'), 2)} | ${fixed(cpuRatio(report, name, base, 'POST'), 2)}`;
  lines.push(`| in-memory proxy (${memory}) | ${cpu(memory, 'GET')} | ${cpu(memory, 'POST')} |`);
  lines.push(`| TOKEN_STORE=redis proxy (${redis}) | ${cpu(redis, 'GET')} | ${cpu(redis, 'POST')} |`);
  lines.push(`| Redis ÷ in-memory | ${ratio(redis, memory)} |`);
  lines.push(`| in-memory ÷ plain proxy | ${ratio(memory, 'proxy')} |`);
  return lines;
}

function verdict(value: number | undefined, limit: number, digits: number, unit = ''): string {
  if (value === undefined || !Number.isFinite(value)) return 'not measured';
  return `${value.toFixed(digits)}${unit} ${value <= limit ? 'met' : `missed by ${(value - limit).toFixed(digits)}${unit}`}`;
}

function targetsSection(report: Report): string[] {
  const paced = pacedSummaries(report.paced);
  const pacedDelta = (m: Method, field: 'p50Ms' | 'p99Ms'): number | undefined => {
    const p = paced.find((s) => s.case === 'proxy' && s.method === m);
    const b = paced.find((s) => s.case === 'bare' && s.method === m);
    return p && b ? p[field] - b[field] : undefined;
  };
  const idle = (name: string): number | undefined => {
    const bytes = find(report, name, 'GET')?.rssIdleBytes;
    return bytes === undefined ? undefined : bytes / 2 ** 20;
  };
  const proxyIdle = idle('proxy');
  const bareIdle = idle('bare');
  const startup = report.startup.find((s) => s.case === 'proxy')?.medianMs;
  return [
    '| target | GET | POST |',
    '| --- | --- | --- |',
    `| proxy CPU per request ÷ bare (≤ ${TARGETS.cpuGet.toFixed(2)} GET, ≤ ${TARGETS.cpuPost.toFixed(2)} POST) | ${verdict(cpuRatio(report, 'proxy', 'bare', 'GET'), TARGETS.cpuGet, 2)} | ${verdict(cpuRatio(report, 'proxy', 'bare', 'POST'), TARGETS.cpuPost, 2)} |`,
    `| p50 at the fixed rate − bare's (≤ ${TARGETS.pacedP50Ms} ms) | ${verdict(pacedDelta('GET', 'p50Ms'), TARGETS.pacedP50Ms, 2, ' ms')} | ${verdict(pacedDelta('POST', 'p50Ms'), TARGETS.pacedP50Ms, 2, ' ms')} |`,
    `| p99 at the fixed rate − bare's (≤ ${TARGETS.pacedP99Ms} ms) | ${verdict(pacedDelta('GET', 'p99Ms'), TARGETS.pacedP99Ms, 2, ' ms')} | ${verdict(pacedDelta('POST', 'p99Ms'), TARGETS.pacedP99Ms, 2, ' ms')} |`,
    `| idle RSS − bare's (≤ ${TARGETS.idleRssMiB} MiB) | ${verdict(proxyIdle !== undefined && bareIdle !== undefined ? proxyIdle - bareIdle : undefined, TARGETS.idleRssMiB, 1, ' MiB')} | |`,
    `| start-up, spawn to first 200 on /_proxy/healthz (≤ ${TARGETS.startupMs} ms) | ${verdict(startup, TARGETS.startupMs, 0, ' ms')} | |`,
  ];
}

export function hotPathSections(report: Report): string[] {
  return [
    '## Targets (issue 21: the hot path), proxy = suitecrm-auth-proxy with 1 worker, against bare in this run',
    '',
    ...targetsSection(report),
    '',
    `## Latency at ${report.settings.paced.rate} requests/s`,
    '',
    ...pacedSection(report),
    '',
    '## Start-up',
    '',
    ...startupSection(report),
    '',
    '## Keyed caller with a rateLimit: CPU per request, in-memory against TOKEN_STORE=redis',
    '',
    ...fleetSection(report, 'keyed', 'keyed-redis'),
    '',
    '## Tool with a local token: CPU per request, in-memory against a Redis fleet (token issued by another replica)',
    '',
    ...fleetSection(report, 'local', 'local-redis'),
    '',
  ];
}
