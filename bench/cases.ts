/**
 * The processes the main phase measures, each a "case": direct to the upstream, our proxy (one
 * process, PROXY_WORKERS=2, other builds to compare), the bare @fastify/http-proxy, nginx, and
 * the fleet features (fleet-cases.ts).
 */
import { join } from 'node:path';
import { fleetCases } from './fleet-cases.js';
import { findNginx, writeNginxConfig } from './nginx.js';
import { freePort, startService, type Service } from './services.js';
import { bareProxyArgs, STATIC_AUTHORIZATION, startProxy } from './stack.js';

export interface Case {
  readonly name: string;
  readonly label: string;
  readonly service: Service;
  /** The pid whose tree is measured; undefined for direct (nothing in between). */
  readonly measured?: number;
  /** One request header the load generator sends (`Name: value`): the direct case's token, a keyed caller's key. */
  readonly header?: string;
}

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

/** `--compare NAME=path/to/main.js[,NAME=path...]`: other builds of the proxy, each NAME and path required. */
export function parseCompare(text: string): Array<[string, string]> {
  return text.split(',').filter(Boolean).map((entry): [string, string] => {
    const [label, main] = entry.split('=');
    if (!label || !main) throw new Error('--compare takes NAME=path/to/main.js[,NAME=path...]');
    return [label, main];
  });
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
    const s = await startService('bare', process.execPath, bareProxyArgs(o.upstreamPort, port), port, o.work);
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
  cases.push(...await fleetCases(o));
  return cases;
}
