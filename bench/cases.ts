/**
 * The processes the main phase measures, each a "case": direct to the upstream, our proxy (one
 * process, PROXY_WORKERS=2, other builds to compare), the bare @fastify/http-proxy, nginx, and a
 * keyed caller with a rateLimit on an in-memory proxy and on a TOKEN_STORE=redis proxy (a real
 * redis-server started here, on 127.0.0.1).
 */
import { join } from 'node:path';
import { findNginx, writeNginxConfig } from './nginx.js';
import { freePort, startService, type Service } from './services.js';
import { ROOT, STATIC_AUTHORIZATION, startProxy } from './stack.js';

export interface Case {
  readonly name: string;
  readonly label: string;
  readonly service: Service;
  /** The pid whose tree is measured; undefined for direct (nothing in between). */
  readonly measured?: number;
  /** One request header the load generator sends (`Name: value`): the direct case's token, a keyed caller's key. */
  readonly header?: string;
}

/** The keyed caller: its key, and a rateLimit far above what a run can send, so no request is refused. */
const KEY = 'bench-caller-key-5f0c2a9e7d3b41c8';
const KEYED_ENV = {
  PROXY_CLIENTS: JSON.stringify([{ name: 'bench-caller', key: KEY, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } }]),
};
/** TOKEN_STORE=redis: the token, and (with issue 19) local sessions and limits, shared through Redis. */
const TOKEN_STORE_KEY = 'a1'.repeat(32);

export interface CaseOptions {
  readonly wanted: ReadonlySet<string>;
  readonly upstreamPort: number;
  readonly work: string;
  /** NAME=path/to/main.js: other builds of the proxy. */
  readonly compare: ReadonlyArray<readonly [string, string]>;
  readonly install: boolean;
  /** Where each started process is added, so the caller stops them all. */
  readonly services: Service[];
  readonly notes: string[];
}

async function keyedCases(o: CaseOptions): Promise<Case[]> {
  const cases: Case[] = [];
  const header = `X-Proxy-Key: ${KEY}`;
  if (o.wanted.has('keyed')) {
    const s = await startProxy(o.upstreamPort, o.work, 1, 'keyed', undefined, KEYED_ENV);
    o.services.push(s);
    cases.push({ name: 'keyed', label: 'keyed caller with a rateLimit, in-memory proxy', service: s, measured: s.pid, header });
  }
  if (o.wanted.has('keyed-redis')) {
    const redisPort = await freePort();
    const redis = await startService('redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], redisPort, o.work);
    o.services.push(redis);
    const s = await startProxy(o.upstreamPort, o.work, 1, 'keyed-redis', undefined, {
      ...KEYED_ENV, TOKEN_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${redisPort}`, TOKEN_STORE_KEY,
    });
    o.services.push(s);
    cases.push({ name: 'keyed-redis', label: 'keyed caller with a rateLimit, TOKEN_STORE=redis proxy', service: s, measured: s.pid, header });
  }
  return cases;
}

export async function startCases(o: CaseOptions, upstream: Service): Promise<Case[]> {
  const cases: Case[] = [];
  const add = (service: Service, c: Omit<Case, 'service'>): void => {
    o.services.push(service);
    cases.push({ ...c, service });
  };
  if (o.wanted.has('direct')) cases.push({ name: 'direct', label: 'direct to upstream', service: upstream, header: `Authorization: ${STATIC_AUTHORIZATION}` });
  if (o.wanted.has('proxy')) {
    const s = await startProxy(o.upstreamPort, o.work, 1);
    add(s, { name: 'proxy', label: 'suitecrm-auth-proxy (1 worker)', measured: s.pid });
  }
  if (o.wanted.has('proxy-2w')) {
    const s = await startProxy(o.upstreamPort, o.work, 2);
    add(s, { name: 'proxy-2w', label: 'suitecrm-auth-proxy (PROXY_WORKERS=2)', measured: s.pid });
  }
  for (const [label, main] of o.compare) {
    const s = await startProxy(o.upstreamPort, o.work, 1, `proxy@${label}`, main);
    add(s, { name: `proxy@${label}`, label: `proxy build ${label} (1 worker)`, measured: s.pid });
  }
  if (o.wanted.has('bare')) {
    const port = await freePort();
    const s = await startService('bare', process.execPath, [join(ROOT, 'dist', 'bench', 'bare-proxy.js'), '--upstream', `http://127.0.0.1:${o.upstreamPort}`, '--port', String(port), '--authorization', STATIC_AUTHORIZATION], port, o.work);
    add(s, { name: 'bare', label: 'bare Fastify + @fastify/http-proxy', measured: s.pid });
  }
  if (o.wanted.has('nginx')) {
    const nginx = findNginx(o.install);
    o.notes.push(nginx.note);
    if (nginx.path) {
      const port = await freePort();
      const conf = writeNginxConfig(join(o.work, 'nginx'), port, o.upstreamPort, STATIC_AUTHORIZATION);
      const s = await startService('nginx', nginx.path, ['-p', join(o.work, 'nginx'), '-c', conf], port, o.work);
      add(s, { name: 'nginx', label: 'nginx (1 worker)', measured: s.pid });
    }
  }
  cases.push(...await keyedCases(o));
  return cases;
}
