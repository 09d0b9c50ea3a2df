/**
 * The processes every benchmark phase starts: the upstream stand-in and our proxy (built from
 * dist/, configured only through its environment, default settings otherwise), and the
 * redis-server of the TOKEN_STORE=redis cases.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startService, type Service } from './services.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STATIC_AUTHORIZATION = 'Bearer bench-static-token';
const BENCH_CLIENT = { SUITECRM_CLIENT_ID: 'bench-client', SUITECRM_CLIENT_SECRET: 'bench-secret' };

export const MAIN_JS = join(ROOT, 'dist', 'src', 'main.js');

/** The proxy's environment: default settings, the bench's SuiteCRM client, `extra` on top. */
export function proxyEnv(upstreamPort: number, port: number, workers: number, extra: Record<string, string> = {}): Record<string, string> {
  return { ...BENCH_CLIENT, SUITECRM_URL: `http://127.0.0.1:${upstreamPort}`, PROXY_PORT: String(port), PROXY_WORKERS: String(workers), ...extra };
}

/** The bare @fastify/http-proxy's command line (node arguments, the script first): in front of the upstream, the static token added. */
export function bareProxyArgs(upstreamPort: number, port: number): string[] {
  return [join(ROOT, 'dist', 'bench', 'bare-proxy.js'), '--upstream', `http://127.0.0.1:${upstreamPort}`, '--port', String(port), '--authorization', STATIC_AUTHORIZATION];
}

export async function startProxy(upstreamPort: number, logDir: string, workers: number, name = workers > 1 ? `proxy-${workers}w` : 'proxy',
  main = MAIN_JS, extra: Record<string, string> = {}): Promise<Service> {
  const port = await freePort();
  const env = proxyEnv(upstreamPort, port, workers, extra);
  return startService(name, process.execPath, [main], port, logDir, env);
}

export async function startUpstream(logDir: string, name: string, extra: string[] = []): Promise<Service> {
  const port = await freePort();
  return startService(name, process.execPath, [join(ROOT, 'dist', 'bench', 'upstream.js'), '--port', String(port), ...extra], port, logDir);
}

/** A redis-server on 127.0.0.1 without persistence, its log in `work`; url is its REDIS_URL. */
export async function startRedisService(work: string): Promise<{ service: Service; url: string }> {
  const port = await freePort();
  const service = await startService('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port, work);
  return { service, url: `redis://127.0.0.1:${port}` };
}

export interface UpstreamStats {
  readonly tokenRequests: number;
  readonly apiRequests: number;
  readonly unauthorized: number;
  /** When each token request arrived (ms since epoch). */
  readonly tokenRequestTimes: number[];
}

export async function upstreamStats(port: number): Promise<UpstreamStats> {
  const res = await fetch(`http://127.0.0.1:${port}/_bench/stats`);
  return (await res.json()) as UpstreamStats;
}

export async function revokeUpstreamTokens(port: number): Promise<void> {
  await fetch(`http://127.0.0.1:${port}/_bench/revoke`, { method: 'POST' }).then((r) => r.arrayBuffer());
}
