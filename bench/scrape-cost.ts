/**
 * What one GET /_proxy/metrics costs, one process against a PROXY_WORKERS group (where the worker
 * that takes the scrape asks the primary, which collects from every worker and aggregates):
 * wall time of 20 scrapes in a row on one keep-alive connection (as Prometheus scrapes), and the
 * CPU the whole process tree spends per scrape over more of them. Not part of `npm run bench`'s
 * report; run it with `npm run bench:scrape`.
 *
 *   node dist/bench/scrape-cost.js [--workers 2] [--scrapes 20] [--cpu-scrapes 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { cpuMicros, processTree } from './procfs.js';
import { stopAll } from './services.js';
import { startProxy, startUpstream } from './stack.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    scrapes: { type: 'string', default: '20' },
    'cpu-scrapes': { type: 'string', default: '200' },
  },
});

async function get(url: string, dispatcher: Agent): Promise<string> {
  const response = await request(url, { dispatcher });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${text.slice(0, 200)}`);
  return text;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function measure(workers: number, upstreamPort: number, work: string): Promise<Record<string, number>> {
  const proxy = await startProxy(upstreamPort, work, workers);
  const base = `http://127.0.0.1:${proxy.port}`;
  const agent = new Agent({ connections: 1 });
  try {
    // Both workers listening and counting, and every lazy series filled, before measuring.
    for (let i = 0; i < 40; i++) await get(`${base}/Api/V8/current-user`, new Agent({ pipelining: 0 }));
    for (let i = 0; i < 5; i++) await get(`${base}/_proxy/metrics`, agent);
    const each: number[] = [];
    const started = performance.now();
    for (let i = 0; i < Number(args.scrapes); i++) {
      const t0 = performance.now();
      await get(`${base}/_proxy/metrics`, agent);
      each.push(performance.now() - t0);
    }
    const wallMs = performance.now() - started;
    const tree = processTree(proxy.pid);
    const cpuBefore = cpuMicros(tree);
    const cpuScrapes = Number(args['cpu-scrapes']);
    let bytes = 0;
    for (let i = 0; i < cpuScrapes; i++) bytes = (await get(`${base}/_proxy/metrics`, agent)).length;
    const cpuPerScrapeUs = (cpuMicros(tree) - cpuBefore) / cpuScrapes;
    return { workers, scrapes: each.length, wallMs, medianMs: median(each), maxMs: Math.max(...each), cpuPerScrapeUs, bytes };
  } finally {
    await agent.close();
    await proxy.stop();
  }
}

const work = mkdtempSync(join(tmpdir(), 'scrape-cost-'));
try {
  const upstream = await startUpstream(work, 'upstream');
  const rows = [await measure(1, upstream.port, work), await measure(Number(args.workers), upstream.port, work)];
  console.log('| PROXY_WORKERS | scrapes | total ms | median ms | max ms | CPU per scrape (all processes) | bytes |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.workers} | ${r.scrapes} | ${r.wallMs!.toFixed(0)} | ${r.medianMs!.toFixed(1)} | ${r.maxMs!.toFixed(1)} | ${(r.cpuPerScrapeUs! / 1000).toFixed(1)} ms | ${r.bytes} |`);
  }
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}
