/**
 * What sharing local sessions costs on the hot path (issue 19): the CPU per request of a tool that
 * calls with a local token, against a caller with a key, on one in-memory proxy, on a replica of a
 * TOKEN_STORE=redis fleet whose token another replica issued, and on PROXY_WORKERS=2. Also counts
 * the Redis commands the fleet sends during the load: the cached hot path should send none.
 *
 *   tsc -p . && node dist/bench/local-sessions.js [--duration 6] [--reps 3] [--connections 32]
 *
 * Needs wrk and redis-server. Prints a Markdown table; nothing is written.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { BENCH_TOOL, localToken } from './fleet-cases.js';
import { cpuMicros, loadAverage, processTree } from './procfs.js';
import { stopAll, type Service } from './services.js';
import { MAIN_JS, startProxy, startUpstream } from './stack.js';
import { median } from './stats.js';
import { findWrk, runWrk, writeScripts } from './wrk.js';
import { startRedis } from '../test/support/redis-server.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    reps: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
  },
});
const seconds = Number(args.duration);
const reps = Number(args.reps);
const connections = Number(args.connections);

const KEY = 'bench-key-0123456789abcdef';
const CLIENTS = JSON.stringify([{ name: 'bench-key', key: KEY }, BENCH_TOOL]);

interface Case {
  readonly name: string;
  readonly service: Service;
  readonly authorization: string;
  /** Redis commands are counted for the fleet cases. */
  readonly redis?: Redis;
}

/** One proxy (PROXY_WORKERS=1 unless `env` says otherwise) with the bench's callers, logging warnings only. */
function proxy(name: string, upstreamPort: number, work: string, env: Record<string, string>): Promise<Service> {
  return startProxy(upstreamPort, work, 1, name, MAIN_JS, { PROXY_CLIENTS: CLIENTS, LOG_LEVEL: 'warn', ...env });
}

async function commandsProcessed(redis: Redis): Promise<number> {
  const match = /total_commands_processed:(\d+)/.exec(await redis.info('stats'));
  return Number(match?.[1] ?? 0);
}

async function main(): Promise<void> {
  const wrk = findWrk(false);
  const work = mkdtempSync(join(tmpdir(), 'suitecrm-proxy-bench-sessions-'));
  const scripts = writeScripts(work);
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  try {
    const upstream = await startUpstream(work, 'upstream');
    const memory = await proxy('memory', upstream.port, work, {});
    const fleetEnv = { TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: randomBytes(32).toString('hex') };
    const issuer = await proxy('fleet-a', upstream.port, work, fleetEnv);
    const replica = await proxy('fleet-b', upstream.port, work, fleetEnv);
    const workers = await proxy('workers-2', upstream.port, work, { PROXY_WORKERS: '2' });
    const cases: Case[] = [
      { name: 'key, memory', service: memory, authorization: `Bearer ${KEY}` },
      { name: 'local token, memory', service: memory, authorization: `Bearer ${await localToken(memory.port)}` },
      { name: 'local token, Redis fleet (issued by another replica)', service: replica, authorization: `Bearer ${await localToken(issuer.port)}`, redis: admin },
      { name: 'local token, PROXY_WORKERS=2', service: workers, authorization: `Bearer ${await localToken(workers.port)}` },
    ];
    console.log(`bench local sessions: ${reps} x ${seconds}s GET per case, ${connections} connections; load ${loadAverage()}`);
    for (const c of cases) await runWrk({ wrk, port: c.service.port, method: 'GET', script: scripts.GET, seconds: 2, connections, threads: 1, header: `Authorization: ${c.authorization}` });
    const rows = new Map<string, Array<{ rps: number; cpu: number; redisPerRequest?: number }>>();
    for (let rep = 1; rep <= reps; rep++) {
      for (const c of cases) {
        const pids = processTree(c.service.pid);
        const cpuBefore = cpuMicros(pids);
        const commandsBefore = c.redis ? await commandsProcessed(c.redis) : 0;
        const result = await runWrk({ wrk, port: c.service.port, method: 'GET', script: scripts.GET, seconds, connections, threads: 1, header: `Authorization: ${c.authorization}` });
        if (result.errors > 0) throw new Error(`${c.name}: ${result.errors} errors`);
        const cpu = (cpuMicros(processTree(c.service.pid)) - cpuBefore) / result.requests;
        // Minus the INFO command itself.
        const redisPerRequest = c.redis ? (await commandsProcessed(c.redis) - commandsBefore - 1) / result.requests : undefined;
        rows.set(c.name, [...(rows.get(c.name) ?? []), { rps: result.rps, cpu, redisPerRequest }]);
        console.log(`  rep ${rep} ${c.name.padEnd(52)} ${result.rps.toFixed(0).padStart(6)} req/s  ${cpu.toFixed(1)} µs CPU/req`);
      }
    }
    console.log('\n| case | req/s | CPU µs/request | Redis commands/request |\n| --- | ---: | ---: | ---: |');
    for (const [name, samples] of rows) {
      const redisColumn = samples[0]?.redisPerRequest === undefined ? '-' : median(samples.map((s) => s.redisPerRequest ?? 0)).toFixed(4);
      console.log(`| ${name} | ${median(samples.map((s) => s.rps)).toFixed(0)} | ${median(samples.map((s) => s.cpu)).toFixed(1)} | ${redisColumn} |`);
    }
    console.log(`\n(median of ${reps}; load average after: ${loadAverage()})`);
  } finally {
    admin.disconnect();
    await stopAll();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
