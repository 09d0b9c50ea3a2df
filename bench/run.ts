/**
 * `npm run bench`: direct, our proxy (1 and 2 workers), a bare @fastify/http-proxy, nginx and the
 * fleet features (a keyed caller with a rateLimit and a tool with a local token, each on an
 * in-memory proxy and on a TOKEN_STORE=redis one: fleet-cases.ts) in front of the same
 * fast upstream, alternating the cases and repeating each; then latency at a fixed request rate,
 * start-up time and the token-side figures. Prints a table and writes it to bench/results/ as
 * JSON and Markdown.
 *
 *   npm run bench -- [--duration 6] [--reps 3] [--connections 32] [--threads 1]
 *                    [--cases direct,proxy,proxy-2w,bare,nginx,keyed,keyed-redis,local,local-redis] [--soak-minutes 0]
 *                    [--paced-rate 500] [--paced-seconds 8] [--paced-rounds 3] [--starts 7]
 *                    [--no-install] [--no-token-figures] [--compare NAME=path/to/dist/src/main.js,...]
 *
 * --compare adds other builds of the proxy as cases in the same alternating run (how the figures
 * of each hot-path change in bench/README.md were measured).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCompare, startCases, type Case } from './cases.js';
import { findHey, runPaced, writePostBody } from './paced.js';
import { cpuMicros, loadAverage, processTree, rssBytes } from './procfs.js';
import { markdownReport, type CaseSummary, type PacedSample, type Report, type Sample } from './report.js';
import { stopAll, type Service } from './services.js';
import { ROOT, startUpstream, upstreamStats } from './stack.js';
import { startupFigures } from './startup.js';
import { median } from './stats.js';
import { soak } from './rss-soak.js';
import { tokenFigures } from './token-figures.js';
import { findWrk, METHODS, runWrk, writeScripts, type Method } from './wrk.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    reps: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '1' },
    cases: { type: 'string', default: 'direct,proxy,proxy-2w,bare,nginx,keyed,keyed-redis,local,local-redis' },
    'soak-minutes': { type: 'string', default: '0' },
    'paced-rate': { type: 'string', default: '500' },
    'paced-seconds': { type: 'string', default: '8' },
    'paced-rounds': { type: 'string', default: '3' },
    starts: { type: 'string', default: '7' },
    'no-install': { type: 'boolean', default: false },
    'no-token-figures': { type: 'boolean', default: false },
    compare: { type: 'string', default: '' },
  },
});
const seconds = Number(args.duration);
const reps = Number(args.reps);
const connections = Number(args.connections);
const threads = Number(args.threads);
const soakMinutes = Number(args['soak-minutes']);
const paced = { rate: Number(args['paced-rate']), seconds: Number(args['paced-seconds']), rounds: Number(args['paced-rounds']) };
const starts = Number(args.starts);
for (const [name, value] of Object.entries({ duration: seconds, reps, connections, threads })) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
}
for (const [name, value] of Object.entries({ 'paced-rate': paced.rate, 'paced-seconds': paced.seconds, 'paced-rounds': paced.rounds, starts })) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number, 0 to skip`);
}
const compare = parseCompare(args.compare);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Phase {
  readonly wrk: string;
  readonly scripts: Record<Method, string>;
  readonly cases: readonly Case[];
  readonly upstreamPort: number;
}

interface MainPhase {
  readonly samples: Sample[];
  readonly idleRss: Map<string, number>;
  /** Token requests the upstream saw during the measured load (after warm-up). */
  readonly tokenRequests: number;
}

/** Warm-up, idle RSS, then every case and method once per repetition, alternated. */
async function mainPhase(p: Phase): Promise<MainPhase> {
  const load = (c: Case, method: Method, runSeconds: number) => runWrk({ wrk: p.wrk, port: c.service.port, method, script: p.scripts[method], seconds: runSeconds, connections, threads, header: c.header });
  console.log('warming up (2 s per case and method)...');
  for (const c of p.cases) for (const method of METHODS) await load(c, method, 2);
  // Idle: warmed up (JIT, pools, buffers at their working size), then a pause without load.
  const idleRss = new Map<string, number>();
  await sleep(2000);
  for (const c of p.cases) if (c.measured) idleRss.set(c.name, rssBytes(processTree(c.measured)));
  const before = await upstreamStats(p.upstreamPort);
  const samples: Sample[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const method of METHODS) for (const c of p.cases) {
      const pids = c.measured ? processTree(c.measured) : [];
      let peakRss = 0;
      const sampler = setInterval(() => { if (pids.length) peakRss = Math.max(peakRss, rssBytes(pids)); }, 250);
      const cpuBefore = cpuMicros(pids);
      const result = await load(c, method, seconds);
      const cpu = c.measured ? cpuMicros(processTree(c.measured)) - cpuBefore : 0;
      clearInterval(sampler);
      const sample: Sample = {
        case: c.name, method, rep, ...result,
        cpuUsPerRequest: c.measured ? cpu / result.requests : undefined,
        rssLoadBytes: c.measured ? peakRss : undefined,
      };
      samples.push(sample);
      console.log(`  rep ${rep} ${method.padEnd(4)} ${c.name.padEnd(11)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms` +
        (sample.cpuUsPerRequest !== undefined ? `  ${sample.cpuUsPerRequest.toFixed(1)} µs CPU/req` : '') + (result.errors ? `  ERRORS ${result.errors}` : ''));
    }
  }
  const after = await upstreamStats(p.upstreamPort);
  return { samples, idleRss, tokenRequests: after.tokenRequests - before.tokenRequests };
}

/** Direct, bare and our proxies at a fixed rate, rounds alternated. */
async function pacedPhase(cases: readonly Case[], work: string, notes: string[]): Promise<PacedSample[]> {
  if (paced.rounds === 0 || paced.rate === 0) return [];
  const hey = findHey();
  if (hey === undefined) {
    notes.push('hey is not installed (apt-get install hey): the fixed-rate latency was not measured');
    return [];
  }
  const bodyFile = writePostBody(work);
  const measured = cases.filter((c) => c.name === 'direct' || c.name === 'bare' || c.name === 'proxy' || c.name.startsWith('proxy@'));
  console.log(`latency at ${paced.rate} requests/s (hey, 5 workers), ${paced.rounds} × ${paced.seconds} s per case and method...`);
  const out: PacedSample[] = [];
  for (let round = 1; round <= paced.rounds; round++) {
    for (const method of METHODS) for (const c of measured) {
      const result = await runPaced({ hey, port: c.service.port, method, seconds: paced.seconds, rate: paced.rate, workers: 5, header: c.header, bodyFile });
      out.push({ case: c.name, method, round, ...result });
      console.log(`  round ${round} ${method.padEnd(4)} ${c.name.padEnd(11)} p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ${result.requests} requests` + (result.errors ? `  ERRORS ${result.errors}` : ''));
    }
  }
  return out;
}

function summarise(cases: readonly Case[], samples: readonly Sample[], idleRss: ReadonlyMap<string, number>): CaseSummary[] {
  const summaries: CaseSummary[] = [];
  for (const c of cases) for (const method of METHODS) {
    const mine = samples.filter((s) => s.case === c.name && s.method === method);
    summaries.push({
      case: c.name, label: c.label, method,
      rps: median(mine.map((s) => s.rps)),
      p50Ms: median(mine.map((s) => s.p50Ms)),
      p99Ms: median(mine.map((s) => s.p99Ms)),
      cpuUsPerRequest: c.measured ? median(mine.map((s) => s.cpuUsPerRequest ?? 0)) : undefined,
      rssIdleBytes: idleRss.get(c.name),
      rssLoadBytes: c.measured ? Math.max(...mine.map((s) => s.rssLoadBytes ?? 0)) : undefined,
      errors: mine.reduce((s, x) => s + x.errors, 0),
    });
  }
  return summaries;
}

function writeReport(report: Report, started: Date): void {
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const markdown = markdownReport(report);
  for (const name of [stamp, 'latest']) {
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(outDir, `${name}.md`), markdown);
  }
  console.log(`\n${markdown}`);
  console.log(`written: bench/results/${stamp}.{json,md} and bench/results/latest.{json,md}`);
}

async function main(): Promise<void> {
  const install = !args['no-install'];
  const wrk = findWrk(install);
  const work = mkdtempSync(join(tmpdir(), 'suitecrm-proxy-bench-'));
  const scripts = writeScripts(work);
  const notes: string[] = [];
  const services: Service[] = [];
  const started = new Date();
  console.log(`bench: ${reps} x ${seconds}s per case and method, ${connections} connections, wrk -t${threads}; load ${loadAverage()}; logs in ${work}`);

  try {
    const upstream = await startUpstream(work, 'upstream');
    services.push(upstream);
    const wanted = new Set(args.cases.split(',').map((s) => s.trim()));
    const cases = await startCases({ wanted, upstreamPort: upstream.port, work, compare, install, services, notes }, upstream);

    const { samples, idleRss, tokenRequests } = await mainPhase({ wrk, scripts, cases, upstreamPort: upstream.port });
    const pacedSamples = await pacedPhase(cases, work, notes);

    let soakResult;
    if (soakMinutes > 0) {
      const proxy = cases.find((c) => c.name === 'proxy');
      if (!proxy?.measured) throw new Error('--soak-minutes needs the proxy case');
      soakResult = await soak({ wrk, port: proxy.service.port, pid: proxy.measured, minutes: soakMinutes, connections, threads, scripts });
    }
    // Start-up with the other processes idle but still running, against the same upstream.
    for (const s of services.splice(1)) await s.stop();
    console.log(`start-up: ${starts} starts per case...`);
    const startup = starts > 0 ? await startupFigures({ upstreamPort: upstream.port, starts, compare }) : [];
    for (const s of services.splice(0)) await s.stop();

    const tokens = args['no-token-figures'] ? undefined : await tokenFigures({ work, wrk, scripts, connections, threads });

    writeReport({
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageBefore: startLoad, loadAverageAfter: loadAverage() },
      settings: { seconds, reps, connections, threads, wrk, paced },
      notes,
      summaries: summarise(cases, samples, idleRss),
      samples,
      paced: pacedSamples,
      startup,
      steadyTokenRequests: { during: tokenRequests, loadSeconds: samples.reduce((s, x) => s + x.seconds, 0) },
      tokens,
      soak: soakResult,
    }, started);
  } finally {
    for (const s of services) await s.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

const startLoad = loadAverage();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping the services`);
    void stopAll().then(() => process.exit(130));
  });
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
