/**
 * Issue 19's figure: the CPU per request of a keyed caller with a rateLimit on one replica of a
 * Redis fleet (`keyed-redis`: every request takes from the caller's bucket in Redis, one script
 * call) against the same caller on one in-memory proxy (`keyed`). The limit is far above the load,
 * so nothing is refused: what is measured is the cost of counting. The fleet is two replicas on one
 * redis-server; the load goes to the first. Redis's own CPU is not part of the replica's figure.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { freePort, startService, type Service } from './services.js';
import { startProxy } from './stack.js';

/** The caller's key, sent by wrk as `Authorization: Bearer <key>`. */
const KEYED_KEY = `bench-keyed-${randomBytes(16).toString('hex')}`;
const KEYED_ENV = {
  PROXY_CLIENTS: JSON.stringify([{ name: 'bench-keyed', key: KEYED_KEY, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } }]),
};

export interface KeyedCase {
  readonly name: string;
  readonly label: string;
  readonly service: Service;
  readonly measured: number;
  readonly authorization: string;
}

function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The `keyed` and `keyed-redis` cases that `wanted` names, with every service they started. */
export async function startKeyedCases(upstreamPort: number, work: string, wanted: ReadonlySet<string>, notes: string[]): Promise<{ cases: KeyedCase[]; services: Service[] }> {
  const cases: KeyedCase[] = [];
  const services: Service[] = [];
  const authorization = `Bearer ${KEYED_KEY}`;
  if (wanted.has('keyed')) {
    const s = await startProxy(upstreamPort, work, 1, 'proxy-keyed', undefined, KEYED_ENV);
    services.push(s);
    cases.push({ name: 'keyed', label: 'keyed caller with a rateLimit, one in-memory proxy', service: s, measured: s.pid, authorization });
  }
  if (wanted.has('keyed-redis')) {
    if (!redisServerInstalled()) {
      notes.push('redis-server is not installed: the keyed-redis case was skipped (Debian: apt-get install redis-server)');
      return { cases, services };
    }
    const redisPort = await freePort();
    const redis = await startService('redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], redisPort, work);
    services.push(redis);
    const fleetEnv = { ...KEYED_ENV, TOKEN_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${redisPort}`, TOKEN_STORE_KEY: randomBytes(32).toString('hex') };
    const [first, second] = await Promise.all(['proxy-redis-1', 'proxy-redis-2'].map((name) => startProxy(upstreamPort, work, 1, name, undefined, fleetEnv)));
    services.push(first!, second!);
    cases.push({ name: 'keyed-redis', label: 'the same caller, one replica of a Redis fleet of 2', service: first!, measured: first!.pid, authorization });
  }
  return { cases, services };
}
