/**
 * `--soak-minutes N`: steady load on the proxy for N minutes, RSS sampled every 30 s, to show
 * memory stays flat (growth after the first minute of warm-up, in percent).
 */
import { processTree, rssBytes } from './procfs.js';
import { runWrk, type Method } from './wrk.js';

export interface SoakResult {
  readonly minutes: number;
  readonly rssMiB: number[];
  readonly requests: number;
  readonly errors: number;
  /** (last - first after warm-up) / first after warm-up, in percent. */
  readonly growthPercent: number;
}

export interface SoakOptions {
  readonly wrk: string;
  readonly port: number;
  readonly pid: number;
  readonly minutes: number;
  readonly connections: number;
  readonly threads: number;
  readonly scripts: Record<Method, string>;
}

const CHUNK_SECONDS = 30;

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const chunks = Math.max(2, Math.round((o.minutes * 60) / CHUNK_SECONDS));
  const rssMiB: number[] = [];
  let requests = 0;
  let errors = 0;
  console.log(`soak: ${chunks} x ${CHUNK_SECONDS} s of alternating GET/POST load on the proxy`);
  for (let i = 0; i < chunks; i++) {
    const method: Method = i % 2 === 0 ? 'GET' : 'POST';
    const result = await runWrk({ wrk: o.wrk, port: o.port, method, script: o.scripts[method], seconds: CHUNK_SECONDS, connections: o.connections, threads: o.threads });
    requests += result.requests;
    errors += result.errors;
    rssMiB.push(rssBytes(processTree(o.pid)) / 2 ** 20);
    console.log(`  soak ${((i + 1) * CHUNK_SECONDS / 60).toFixed(1)} min: RSS ${rssMiB.at(-1)?.toFixed(1)} MiB, ${result.rps.toFixed(0)} req/s`);
  }
  // The first minute is warm-up (JIT, pools, buffers growing to their working size).
  const warmIndex = Math.min(rssMiB.length - 1, Math.max(0, Math.round(60 / CHUNK_SECONDS) - 1));
  const base = rssMiB[warmIndex] ?? 0;
  const last = rssMiB.at(-1) ?? 0;
  return { minutes: o.minutes, rssMiB, requests, errors, growthPercent: base > 0 ? ((last - base) / base) * 100 : 0 };
}
