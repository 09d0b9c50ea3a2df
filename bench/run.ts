/**
 * `npm run bench`: direct, our proxy (1 and 2 workers), a bare @fastify/http-proxy and nginx in
 * front of the same fast upstream, alternating the cases and repeating each; then the token-side
 * figures. Prints a table and writes it to bench/results/ as JSON and Markdown.
 *
 *   npm run bench -- [--duration 6] [--reps 3] [--connections 32] [--threads 1]
 *                    [--cases direct,proxy,proxy-2w,bare,nginx,keyed,keyed-redis] [--soak-minutes 0] [--no-install]
 *                    [--no-token-figures] [--compare NAME=path/to/dist/src/main.js,...]
 *
 * --compare adds other builds of the proxy as cases in the same alternating run (how the figures
 * of each hot-path change in bench/README.md were measured).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findNginx, writeNginxConfig } from './nginx.js';
import { cpuMicros, loadAverage, processTree, rssBytes } from './procfs.js';
import { markdownReport, type CaseSummary, type Report, type Sample } from './report.js';
import { freePort, startService, stopAll, type Service } from './services.js';
import { ROOT, STATIC_AUTHORIZATION, startProxy, startUpstream, upstreamStats } from './stack.js';
import { soak } from './rss-soak.js';
import { tokenFigures } from './token-figures.js';
import { startKeyedCases } from './limits.js';
import { findWrk, runWrk, writeScripts, type Method } from './wrk.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    reps: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '1' },
    cases: { type: 'string', default: 'direct,proxy,proxy-2w,bare,nginx,keyed,keyed-redis' },
    'soak-minutes': { type: 'string', default: '0' },
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
for (const [name, value] of Object.entries({ duration: seconds, reps, connections, threads })) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Case {
  readonly name: string;
  readonly label: string;
  readonly service: Service;
  /** The pid whose tree is measured; undefined for direct (nothing in between). */
  readonly measured?: number;
  readonly authorization?: string;
}

async function main(): Promise<void> {
  const install = !args['no-install'];
  const wrk = findWrk(install);
  const work = mkdtempSync(join(tmpdir(), 'suitecrm-proxy-bench-'));
  const scripts = writeScripts(work);
  const wanted = new Set(args.cases.split(',').map((s) => s.trim()));
  const notes: string[] = [];
  const services: Service[] = [];
  const started = new Date();
  console.log(`bench: ${reps} x ${seconds}s per case and method, ${connections} connections, wrk -t${threads}; load ${loadAverage()}; logs in ${work}`);

  try {
    const upstream = await startUpstream(work, 'upstream');
    services.push(upstream);
    const cases: Case[] = [];
    if (wanted.has('direct')) cases.push({ name: 'direct', label: 'direct to upstream', service: upstream, authorization: STATIC_AUTHORIZATION });
    if (wanted.has('proxy')) {
      const s = await startProxy(upstream.port, work, 1);
      services.push(s);
      cases.push({ name: 'proxy', label: 'suitecrm-auth-proxy (1 worker)', service: s, measured: s.pid });
    }
    if (wanted.has('proxy-2w')) {
      const s = await startProxy(upstream.port, work, 2);
      services.push(s);
      cases.push({ name: 'proxy-2w', label: 'suitecrm-auth-proxy (PROXY_WORKERS=2)', service: s, measured: s.pid });
    }
    for (const entry of args.compare.split(',').filter(Boolean)) {
      const [label, main] = entry.split('=');
      if (!label || !main) throw new Error('--compare takes NAME=path/to/main.js[,NAME=path...]');
      const s = await startProxy(upstream.port, work, 1, `proxy@${label}`, main);
      services.push(s);
      cases.push({ name: `proxy@${label}`, label: `proxy build ${label} (1 worker)`, service: s, measured: s.pid });
    }
    const keyed = await startKeyedCases(upstream.port, work, wanted, notes);
    services.push(...keyed.services);
    cases.push(...keyed.cases);
    if (wanted.has('bare')) {
      const port = await freePort();
      const s = await startService('bare', process.execPath, [join(ROOT, 'dist', 'bench', 'bare-proxy.js'), '--upstream', `http://127.0.0.1:${upstream.port}`, '--port', String(port), '--authorization', STATIC_AUTHORIZATION], port, work);
      services.push(s);
      cases.push({ name: 'bare', label: 'bare Fastify + @fastify/http-proxy', service: s, measured: s.pid });
    }
    if (wanted.has('nginx')) {
      const nginx = findNginx(install);
      notes.push(nginx.note);
      if (nginx.path) {
        const port = await freePort();
        const conf = writeNginxConfig(join(work, 'nginx'), port, upstream.port, STATIC_AUTHORIZATION);
        const s = await startService('nginx', nginx.path, ['-p', join(work, 'nginx'), '-c', conf], port, work);
        services.push(s);
        cases.push({ name: 'nginx', label: 'nginx (1 worker)', service: s, measured: s.pid });
      }
    }

    const methods: Method[] = ['GET', 'POST'];
    console.log('warming up (2 s per case and method)...');
    for (const c of cases) for (const method of methods) {
      await runWrk({ wrk, port: c.service.port, method, script: scripts[method], seconds: 2, connections, threads, authorization: c.authorization });
    }

    // Idle: warmed up (JIT, pools, buffers at their working size), then a pause without load.
    const idleRss = new Map<string, number>();
    await sleep(2000);
    for (const c of cases) if (c.measured) idleRss.set(c.name, rssBytes(processTree(c.measured)));

    const tokenRequestsBefore = await upstreamStats(upstream.port);
    const samples: Sample[] = [];
    for (let rep = 1; rep <= reps; rep++) {
      for (const method of methods) for (const c of cases) {
        const pids = c.measured ? processTree(c.measured) : [];
        let peakRss = 0;
        const sampler = setInterval(() => { if (pids.length) peakRss = Math.max(peakRss, rssBytes(pids)); }, 250);
        const cpuBefore = cpuMicros(pids);
        const result = await runWrk({ wrk, port: c.service.port, method, script: scripts[method], seconds, connections, threads, authorization: c.authorization });
        const cpu = c.measured ? cpuMicros(processTree(c.measured)) - cpuBefore : 0;
        clearInterval(sampler);
        const sample: Sample = {
          case: c.name, method, rep, ...result,
          cpuUsPerRequest: c.measured ? cpu / result.requests : undefined,
          rssLoadBytes: c.measured ? peakRss : undefined,
        };
        samples.push(sample);
        console.log(`  rep ${rep} ${method.padEnd(4)} ${c.name.padEnd(9)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms` +
          (sample.cpuUsPerRequest !== undefined ? `  ${sample.cpuUsPerRequest.toFixed(1)} µs CPU/req` : '') + (result.errors ? `  ERRORS ${result.errors}` : ''));
      }
    }
    const tokenRequestsAfter = await upstreamStats(upstream.port);
    const loadSeconds = samples.reduce((s, x) => s + x.seconds, 0);

    const summaries: CaseSummary[] = [];
    for (const c of cases) for (const method of methods) {
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

    let soakResult;
    if (soakMinutes > 0) {
      const proxy = cases.find((c) => c.name === 'proxy');
      if (!proxy?.measured) throw new Error('--soak-minutes needs the proxy case');
      soakResult = await soak({ wrk, port: proxy.service.port, pid: proxy.measured, minutes: soakMinutes, connections, threads, scripts });
    }

    for (const s of services.splice(0)) await s.stop();

    const tokens = args['no-token-figures'] ? undefined : await tokenFigures({ work, wrk, scripts, connections, threads });

    const report: Report = {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageBefore: '', loadAverageAfter: loadAverage() },
      settings: { seconds, reps, connections, threads, wrk },
      notes,
      summaries,
      samples,
      steadyTokenRequests: { during: tokenRequestsAfter.tokenRequests - tokenRequestsBefore.tokenRequests, loadSeconds },
      tokens,
      soak: soakResult,
    };
    report.machine.loadAverageBefore = startLoad;
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
  } finally {
    for (const s of services) await s.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

const startLoad = loadAverage();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

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
