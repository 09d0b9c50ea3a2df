/**
 * `node dist/bench/instructions.js`: CPU instructions per request, counted by valgrind's
 * callgrind, for the proxy and the bare @fastify/http-proxy (and other builds with --compare).
 * Unlike CPU time, an instruction count does not depend on how busy the machine is, so two
 * builds can be compared on a shared machine. Each target runs under valgrind (every thread
 * counted: GC and libuv's pool included) with V8 compiling on the main thread
 * (--no-concurrent-recompilation) and is warmed up; then the counters are zeroed, a fixed number
 * of requests is sent (hey, 8 connections) and the counts are dumped. What V8's optimising
 * compiler did meanwhile (inclusive cost of Runtime_CompileOptimized, from callgrind_annotate)
 * is subtracted: V8 still re-optimises a function every few thousand requests, and one such
 * compile costs as much as thousands of requests, so with it the counts of one build varied by
 * a quarter between runs.
 * Valgrind runs node ~50× slower, so this takes a few minutes per target and method.
 *
 *   node dist/bench/instructions.js [--requests 2000] [--warmup 6000] [--methods GET,POST]
 *                                   [--targets proxy,bare] [--compare NAME=path/to/main.js,...]
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCompare } from './cases.js';
import { findHey, writePostBody } from './paced.js';
import { loadAverage } from './procfs.js';
import { freePort, stopAll } from './services.js';
import { bareProxyArgs, MAIN_JS, proxyEnv, startUpstream } from './stack.js';
import { GET_PATH, POST_PATH, type Method } from './wrk.js';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '6000' },
    methods: { type: 'string', default: 'GET,POST' },
    targets: { type: 'string', default: 'proxy,bare' },
    compare: { type: 'string', default: '' },
  },
});
const compare = parseCompare(args.compare);

const run = (command: string, argv: string[]): Promise<string> => new Promise((resolve, reject) => {
  execFile(command, argv, { encoding: 'utf8', maxBuffer: 16 * 2 ** 20, timeout: 30 * 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
});

interface Target { readonly name: string; readonly argv: (port: number, upstreamPort: number) => string[]; readonly env: (port: number, upstreamPort: number) => Record<string, string> }

async function waitForHttp(port: number): Promise<void> {
  for (const deadline = Date.now() + 600_000; Date.now() < deadline;) {
    try {
      await fetch(`http://127.0.0.1:${port}/_proxy/healthz`).then((r) => r.arrayBuffer());
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error(`nothing answered on port ${port} under valgrind`);
}

const number = (text: string | undefined): number => Number((text ?? '').replace(/,/g, ''));

/** A dump's total instructions minus what V8's compilers spent (inclusive), from callgrind_annotate. */
async function withoutCompiler(file: string): Promise<number> {
  const total = number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1]);
  const annotated = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file]);
  let compiler = 0;
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+) \([^)]*\)\s+\S*:v8::internal::(Runtime_CompileOptimized|Runtime_CompileLazy|OptimizingCompileDispatcher::CompileTask::RunInternal)\(/.exec(line);
    if (match) compiler += number(match[1]);
  }
  return total - compiler;
}

async function count(target: Target, method: Method, upstreamPort: number, hey: string, bodyFile: string, work: string): Promise<number> {
  const port = await freePort();
  const out = join(work, `${target.name.replace(/\W/g, '_')}-${method}.callgrind`);
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--dump-line=no',
    process.execPath, '--no-concurrent-recompilation', ...target.argv(port, upstreamPort)],
    { stdio: 'ignore', env: { ...process.env, ...target.env(port, upstreamPort) } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForHttp(port);
    const url = `http://127.0.0.1:${port}${method === 'GET' ? GET_PATH : POST_PATH}`;
    const load = (n: string) => run(hey, ['-n', n, '-c', '8', ...(method === 'POST' ? ['-m', 'POST', '-D', bodyFile, '-T', 'application/vnd.api+json'] : []), url]);
    await load(args.warmup);
    await run('callgrind_control', ['--zero', String(child.pid)]);
    const summary = await load(args.requests);
    await run('callgrind_control', ['--dump', String(child.pid)]);
    if (!/\[200\]\s+\d+ responses/.test(summary) && !/\[201\]\s+\d+ responses/.test(summary)) throw new Error(`${target.name} ${method}: not every answer was 2xx:\n${summary}`);
    const dump = readdirSync(work).filter((f) => f.startsWith(`${out.slice(work.length + 1)}.`)).sort().at(-1);
    return (await withoutCompiler(join(work, dump ?? ''))) / Number(args.requests);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

async function main(): Promise<void> {
  const hey = findHey();
  if (hey === undefined) throw new Error('hey is not installed (apt-get install hey)');
  const work = mkdtempSync(join(tmpdir(), 'suitecrm-proxy-instructions-'));
  const bodyFile = writePostBody(work);
  const upstream = await startUpstream(work, 'upstream');
  const proxy = (name: string, main: string): Target => ({ name, argv: () => [main], env: (port, up) => proxyEnv(up, port, 1) });
  const all: Target[] = [
    proxy('proxy', MAIN_JS),
    { name: 'bare', argv: (port, up) => bareProxyArgs(up, port), env: () => ({}) },
    ...compare.map(([name, main]) => proxy(`proxy@${name}`, main)),
  ];
  const wanted = new Set(args.targets.split(','));
  const targets = all.filter((t) => wanted.has(t.name) || t.name.startsWith('proxy@'));
  const results: string[] = [`load average ${loadAverage()}; ${args.requests} requests after ${args.warmup} of warm-up, hey -c 8`];
  try {
    for (const method of args.methods.split(',') as Method[]) {
      const perTarget = new Map<string, number>();
      for (const target of targets) {
        const n = await count(target, method, upstream.port, hey, bodyFile, work);
        perTarget.set(target.name, n);
        console.log(`${method} ${target.name}: ${(n / 1000).toFixed(1)} k instructions per request`);
      }
      const bare = perTarget.get('bare');
      for (const [name, n] of perTarget) results.push(`| ${method} | ${name} | ${(n / 1000).toFixed(1)} k | ${bare ? (n / bare).toFixed(3) : '–'} |`);
    }
  } finally {
    await upstream.stop();
    await stopAll();
  }
  console.log(['', results[0], '', '| method | target | instructions per request | × bare |', '| --- | --- | ---: | ---: |', ...results.slice(1)].join('\n'));
  console.log(`callgrind files in ${work}`);
}

main().catch((err: unknown) => {
  console.error(`instructions failed: ${(err as Error).stack ?? String(err)}`);
  void stopAll().then(() => process.exit(1));
});
