/**
 * The fleet features in the main phase, each a case with its own CPU per request (issue 21):
 *
 * - keyed / keyed-redis: a caller with a key and a rateLimit that never refuses, on an in-memory
 *   proxy and on a TOKEN_STORE=redis proxy (every request takes from the caller's bucket in Redis);
 * - local / local-redis: a tool calling with a local token (PROXY_CLIENTS clientId/clientSecret),
 *   on an in-memory proxy and on a replica of a TOKEN_STORE=redis fleet whose token the fleet's
 *   other replica issued (the replica checks it in Redis once, then serves it from its cache).
 *
 * One real redis-server, started here on 127.0.0.1, serves every Redis case.
 */
import type { Case, CaseOptions } from './cases.js';
import type { Service } from './services.js';
import { startProxy, startRedisService } from './stack.js';

/** The keyed caller: its key, and a rateLimit far above what a run can send, so no request is refused. */
const KEY = 'bench-caller-key-5f0c2a9e7d3b41c8';
/** The tool that logs in to the proxy for a local token. */
export const BENCH_TOOL = { name: 'bench-tool', clientId: 'bench-tool', clientSecret: 'bench-tool-secret-0123456789' };
const CLIENTS_ENV = {
  PROXY_CLIENTS: JSON.stringify([{ name: 'bench-caller', key: KEY, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } }, BENCH_TOOL]),
};
/** TOKEN_STORE=redis: the token, local sessions and limits, shared through Redis. */
const TOKEN_STORE_KEY = 'a1'.repeat(32);

/** A local token for the bench tool, from the proxy at `port` (client_credentials, as a tool would). */
export async function localToken(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/Api/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: BENCH_TOOL.clientId, client_secret: BENCH_TOOL.clientSecret }),
  });
  if (res.status !== 200) throw new Error(`bench tool login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function fleetCases(o: CaseOptions): Promise<Case[]> {
  const cases: Case[] = [];
  const started = (s: Service): Service => {
    o.services.push(s);
    return s;
  };
  const keyHeader = `X-Proxy-Key: ${KEY}`;
  let memory: Service | undefined;
  const memoryProxy = async (): Promise<Service> => (memory ??= started(await startProxy(o.upstreamPort, o.work, 1, 'fleet-memory', undefined, CLIENTS_ENV)));
  let redisEnv: Record<string, string> | undefined;
  const redisProxy = async (name: string): Promise<Service> => {
    if (redisEnv === undefined) {
      const redis = await startRedisService(o.work);
      started(redis.service);
      redisEnv = { ...CLIENTS_ENV, TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY };
    }
    return started(await startProxy(o.upstreamPort, o.work, 1, name, undefined, redisEnv));
  };

  if (o.wanted.has('keyed')) {
    const s = await memoryProxy();
    cases.push({ name: 'keyed', label: 'keyed caller with a rateLimit, in-memory proxy', service: s, measured: s.pid, header: keyHeader });
  }
  if (o.wanted.has('keyed-redis')) {
    const s = await redisProxy('keyed-redis');
    cases.push({ name: 'keyed-redis', label: 'keyed caller with a rateLimit, TOKEN_STORE=redis proxy', service: s, measured: s.pid, header: keyHeader });
  }
  if (o.wanted.has('local')) {
    const s = await memoryProxy();
    cases.push({ name: 'local', label: 'tool with a local token, in-memory proxy', service: s, measured: s.pid, header: `Authorization: Bearer ${await localToken(s.port)}` });
  }
  if (o.wanted.has('local-redis')) {
    const issuer = await redisProxy('local-redis-issuer');
    const replica = await redisProxy('local-redis');
    const header = `Authorization: Bearer ${await localToken(issuer.port)}`;
    cases.push({ name: 'local-redis', label: 'tool with a local token issued by another replica, TOKEN_STORE=redis fleet', service: replica, measured: replica.pid, header });
  }
  return cases;
}
