/**
 * Start-up time: from spawning `node dist/src/main.js` (default settings, against the bench's
 * upstream) to the first 200 on /_proxy/healthz, the median of several starts; the bare
 * @fastify/http-proxy (which has no health endpoint) until its first answer of any status.
 * Starts of the cases alternate, so load on the machine hits them alike.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { freePort } from './services.js';
import { median } from './stats.js';
import { bareProxyArgs, MAIN_JS, proxyEnv } from './stack.js';

export interface StartupFigure {
  readonly case: string;
  readonly label: string;
  readonly medianMs: number;
  readonly samplesMs: number[];
}

interface StartupCase {
  readonly name: string;
  readonly label: string;
  /** Node arguments, the script first. */
  readonly args: (port: number) => string[];
  readonly env: (port: number) => Record<string, string>;
  /** A status that says the process is serving. */
  readonly ready: (status: number) => boolean;
}

/** The status of GET /_proxy/healthz, or 0 while nothing answers. */
function probe(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/_proxy/healthz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
    req.end();
  });
}

const TIMEOUT_MS = 15_000;

async function startOnce(c: StartupCase): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, c.args(port), { stdio: 'ignore', env: { ...process.env, ...c.env(port) } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    while (!c.ready(await probe(port))) {
      if (child.exitCode !== null) throw new Error(`${c.name} exited with ${child.exitCode} during start-up`);
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`${c.name} did not answer within ${TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function startupFigures(o: { upstreamPort: number; starts: number; compare: ReadonlyArray<readonly [string, string]> }): Promise<StartupFigure[]> {
  const proxyCase = (name: string, label: string, main: string): StartupCase => ({
    name, label, args: () => [main], env: (port) => proxyEnv(o.upstreamPort, port, 1), ready: (status) => status === 200,
  });
  const cases: StartupCase[] = [
    proxyCase('proxy', 'suitecrm-auth-proxy: spawn to first 200 on /_proxy/healthz', MAIN_JS),
    ...o.compare.map(([label, main]) => proxyCase(`proxy@${label}`, `proxy build ${label}`, main)),
    {
      name: 'bare', label: 'bare Fastify + @fastify/http-proxy: spawn to first answer',
      args: (port) => bareProxyArgs(o.upstreamPort, port),
      env: () => ({}), ready: (status) => status > 0,
    },
  ];
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let i = 0; i < o.starts; i++) {
    for (const c of cases) samples.get(c.name)?.push(await startOnce(c));
  }
  return cases.map((c) => {
    const ms = samples.get(c.name) ?? [];
    return { case: c.name, label: c.label, medianMs: median(ms), samplesMs: ms };
  });
}
