/**
 * `node dist/bench/profile.js`: the proxy and the bare @fastify/http-proxy side by side under the
 * same wrk load, each with V8's CPU profiler on for exactly the measured window
 * (cpu-profile-hook.ts), in alternating rounds; prints where each microsecond of CPU per request
 * goes, by package and by function (self time), proxy against bare. bench/README.md explains it.
 *
 *   node dist/bench/profile.js [--seconds 10] [--rounds 2] [--connections 32] [--interval-us 100]
 *                              [--main path/to/dist/src/main.js] [--out DIR]
 */
import { readFileSync, existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAverage, threadCpuMicros } from './procfs.js';
import { addProfile, categoryOf, compareRows, emptyCounts, perRequest, type CpuProfile, type SampleCounts } from './profile-split.js';
import { freePort, startService, stopAll, type Service } from './services.js';
import { bareProxyArgs, MAIN_JS, proxyEnv, ROOT, startUpstream } from './stack.js';
import { findWrk, METHODS, runWrk, writeScripts, type Method } from './wrk.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'interval-us': { type: 'string', default: '100' },
    main: { type: 'string', default: MAIN_JS },
    out: { type: 'string' },
  },
});
const HOOK = join(ROOT, 'dist', 'bench', 'cpu-profile-hook.js');

interface Target {
  readonly name: 'proxy' | 'bare';
  start(profileFile: string): Promise<Service>;
}

async function waitForFile(file: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; !existsSync(file);) {
    if (Date.now() > deadline) throw new Error(`no profile written to ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Totals { counts: SampleCounts; cpuUs: number; requests: number }

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  const connections = Number(args.connections);
  const work = args.out ?? mkdtempSync(join(tmpdir(), 'suitecrm-proxy-profile-'));
  mkdirSync(work, { recursive: true });
  const wrk = findWrk(false);
  const scripts = writeScripts(work);
  const loadBefore = loadAverage();
  const upstream = await startUpstream(work, 'upstream');
  const profilerEnv = { CPU_PROFILE_INTERVAL_US: args['interval-us'] };
  const targets: Target[] = [
    { name: 'proxy', start: async (file) => { const port = await freePort(); return startService('proxy', process.execPath, ['--import', HOOK, args.main], port, work, { ...proxyEnv(upstream.port, port, 1), ...profilerEnv, CPU_PROFILE_FILE: file }); } },
    { name: 'bare', start: async (file) => { const port = await freePort(); return startService('bare', process.execPath, ['--import', HOOK, ...bareProxyArgs(upstream.port, port)], port, work, { ...profilerEnv, CPU_PROFILE_FILE: file }); } },
  ];
  const totals = new Map<string, Totals>();
  try {
    for (let round = 1; round <= rounds; round++) for (const method of METHODS) for (const target of targets) {
      const file = join(work, `${target.name}-${method}-${round}.cpuprofile`);
      const service = await target.start(file);
      await runWrk({ wrk, port: service.port, method, script: scripts[method], seconds: 3, connections, threads: 1 });
      service.child.kill('SIGUSR2');
      // The main thread only: the profiler's own thread and V8's helpers excluded.
      const before = threadCpuMicros(service.pid);
      const result = await runWrk({ wrk, port: service.port, method, script: scripts[method], seconds, connections, threads: 1 });
      const cpuUs = threadCpuMicros(service.pid) - before;
      service.child.kill('SIGUSR2');
      await waitForFile(file);
      await service.stop();
      const key = `${target.name} ${method}`;
      const t = totals.get(key) ?? { counts: emptyCounts(), cpuUs: 0, requests: 0 };
      addProfile(t.counts, JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
      t.cpuUs += cpuUs;
      t.requests += result.requests;
      totals.set(key, t);
      console.log(`round ${round} ${method} ${target.name}: ${result.rps.toFixed(0)} req/s, main thread ${(cpuUs / result.requests).toFixed(1)} µs CPU/req${result.errors ? `, ERRORS ${result.errors}` : ''}`);
    }
  } finally {
    await upstream.stop();
    await stopAll();
  }
  const report = [`Profile: ${rounds} rounds × ${seconds} s per target and method, wrk -c${connections}, sampling every ${args['interval-us']} µs; load average before ${loadBefore}, after ${loadAverage()}.`, ''];
  for (const method of METHODS) report.push(...methodReport(method, totals.get(`proxy ${method}`), totals.get(`bare ${method}`)));
  const text = report.join('\n');
  writeFileSync(join(work, 'profile.md'), text);
  console.log(`\n${text}\nprofiles and profile.md in ${work}`);
}

function methodReport(method: Method, proxy: Totals | undefined, bare: Totals | undefined): string[] {
  if (proxy === undefined || bare === undefined) return [];
  const proxyCpu = proxy.cpuUs / proxy.requests;
  const bareCpu = bare.cpuUs / bare.requests;
  const row = ([key, a, b, d]: [string, number, number, number]): string => `| ${key.replace(/\|/g, '\\|')} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${d >= 0 ? '+' : ''}${d.toFixed(2)} |`;
  return [
    `### ${method}: main thread ${proxyCpu.toFixed(1)} µs CPU per request (proxy) against ${bareCpu.toFixed(1)} (bare): ×${(proxyCpu / bareCpu).toFixed(2)}, +${(proxyCpu - bareCpu).toFixed(1)} µs`,
    '',
    '| by package or module | proxy µs/req | bare µs/req | difference |', '| --- | ---: | ---: | ---: |',
    ...compareRows(perRequest(proxy.counts, proxyCpu, categoryOf), perRequest(bare.counts, bareCpu, categoryOf), 25).map(row),
    '',
    '| by function (self time) | proxy µs/req | bare µs/req | difference |', '| --- | ---: | ---: | ---: |',
    ...compareRows(perRequest(proxy.counts, proxyCpu), perRequest(bare.counts, bareCpu), 45).map(row),
    '',
  ];
}

main().catch((err: unknown) => {
  console.error(`profile failed: ${(err as Error).stack ?? String(err)}`);
  void stopAll().then(() => process.exit(1));
});
