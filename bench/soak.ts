/**
 * `npm run soak -- --minutes N` (default 2, at most 60): the proxy as a real process in front of
 * the SuiteCRM double with 5-second tokens, steady mixed traffic for N minutes. Passes when no
 * request failed, nothing arrived twice or altered upstream, token requests match one per refresh
 * window (no drift into a loop), and the proxy's RSS and heap show no growth after warm-up.
 * The proxy's event-loop delay and memory are sampled inside its process every 5 s by
 * bench/soak-sampler.ts. Results: bench/results/soak-<N>min.md and .json.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { scheduleFor } from '../src/suitecrm-token/token.js';
import { startFakeSuiteCrm } from '../test/support/fake-suitecrm.js';
import { UpstreamLedger } from '../test/support/drill/ledger.js';
import { LoadGenerator, type ClientResult } from '../test/support/drill/load.js';
import { spawnProxyProcess } from '../test/support/drill/proxy-process.js';
import { writeResults } from '../test/support/drill/report.js';
import { CC_ENV } from '../test/support/proxy-harness.js';
import { growth, percentile, soakTable, type ProcessSample, type SoakRow } from './soak-report.js';

const TTL_SECONDS = 5;
const SAMPLE_INTERVAL_MS = 5000;
const LOAD = { workers: 6, pauseMs: 40, clientTimeoutMs: 15_000 } as const;
const MAX_MINUTES = 60;
/** RSS and heap may wander this much (or 10 %) between the first and last third after warm-up. */
const GROWTH_TOLERANCE_MB = 10;

function parseMinutes(): number {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '2' } } });
  const minutes = Number(values.minutes);
  if (!Number.isFinite(minutes) || minutes < 0.5 || minutes > MAX_MINUTES) {
    process.stderr.write(`soak: --minutes must be a number between 0.5 and ${MAX_MINUTES}, got ${String(values.minutes)}\n`);
    process.exit(2);
  }
  return minutes;
}

/** The refresh window the TokenManager uses for a 5 s token with the default margin. */
function refreshWindowMs(): number {
  const token = { accessToken: 'x', lifetimeMs: TTL_SECONDS * 1000, expiresInReported: true, refreshToken: undefined, receivedAt: 0, grant: 'client_credentials' as const, authorization: '' };
  return scheduleFor(token, 60_000).refreshAt;
}

function readSamples(file: string): ProcessSample[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ProcessSample);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const minutes = parseMinutes();
  const durationMs = minutes * 60_000;
  const warmupMs = Math.min(30_000, durationMs / 4);
  const sampleFile = join(tmpdir(), `suitecrm-proxy-soak-${process.pid}.jsonl`);
  rmSync(sampleFile, { force: true });

  const crm = await startFakeSuiteCrm({ ttlSeconds: TTL_SECONDS });
  const sampler = new URL('./soak-sampler.js', import.meta.url).href;
  const proxy = await spawnProxyProcess(
    { SUITECRM_URL: crm.url, ...CC_ENV, LOG_LEVEL: 'info', SOAK_SAMPLE_FILE: sampleFile, SOAK_SAMPLE_INTERVAL_MS: String(SAMPLE_INTERVAL_MS) },
    { nodeArgs: ['--import', sampler] },
  );
  const ledger = new UpstreamLedger(crm);
  const violations: string[] = [];
  const outcomes = new Map<string, number>();
  let pending: ClientResult[] = [];
  let window: ClientResult[] = [];
  const load = new LoadGenerator({
    baseUrl: proxy.url, ...LOAD, keepResults: false,
    onResult: (r) => {
      outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
      pending.push(r);
      window.push(r);
    },
  });
  process.stdout.write(`soak: ${minutes} min, ${TTL_SECONDS} s tokens, ${LOAD.workers} callers; proxy ${proxy.url}, SuiteCRM double ${crm.url}\n`);

  const rows: SoakRow[] = [];
  let replayed = 0;
  const started = performance.now();
  load.start();
  let tokensAtLastRow = crm.tokenRequestCount();
  try {
    while (performance.now() - started < durationMs) {
      const samples = readSamples(sampleFile);
      if (samples.length > rows.length) {
        const sample = samples[rows.length]!;
        const tokens = crm.tokenRequestCount();
        rows.push({
          ...sample,
          requests: window.length,
          failed: window.filter((r) => !r.ok).length,
          tokenRequests: tokens - tokensAtLastRow,
          latencyP99Ms: percentile(window.map((r) => r.endedAt - r.startedAt), 99),
        });
        tokensAtLastRow = tokens;
        window = [];
        // Check what finished so far against what arrived, then forget it: memory stays flat.
        const summary = ledger.check(pending, { allowDropped: false, complete: false });
        violations.push(...summary.violations);
        replayed += summary.replayed;
        ledger.forget(pending.map((r) => r.id));
        pending = [];
        const row = rows.at(-1)!;
        process.stdout.write(`  ${(row.atMs / 1000).toFixed(0).padStart(4)} s  ${String(row.requests).padStart(5)} requests  ${row.failed} failed  ` +
          `EL p99 ${row.eventLoopP99Ms.toFixed(1)} ms  RSS ${(row.rssBytes / 1048576).toFixed(1)} MB\n`);
      }
      await sleep(500);
    }
  } finally {
    await load.stop();
  }
  const elapsedMs = performance.now() - started;
  const final = ledger.check(pending, { allowDropped: false, complete: true });
  violations.push(...final.violations);
  replayed += final.replayed;
  const tokenRequests = crm.tokenRequestCount();
  const exit = await proxy.stop();
  await crm.close();
  rmSync(sampleFile, { force: true });

  const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
  const succeeded = outcomes.get('ok') ?? 0;
  const failures = Object.fromEntries([...outcomes].filter(([k]) => k !== 'ok'));
  if (succeeded !== total) violations.push(`${total - succeeded} requests failed: ${JSON.stringify(failures)}`);

  // One token at start, then one per refresh window; ±15 % (+2) for scheduling on a busy machine.
  const windowMs = refreshWindowMs();
  const expectedTokens = 1 + elapsedMs / windowMs;
  const tokenRange = [Math.floor(expectedTokens * 0.85) - 2, Math.ceil(expectedTokens * 1.15) + 2] as const;
  if (tokenRequests < tokenRange[0] || tokenRequests > tokenRange[1]) {
    violations.push(`${tokenRequests} token requests, expected ${tokenRange[0]}–${tokenRange[1]} (one per ${windowMs} ms refresh window)`);
  }

  const steady = rows.filter((r) => r.atMs >= warmupMs);
  const rss = growth(steady, (s) => s.rssBytes, GROWTH_TOLERANCE_MB);
  const heap = growth(steady, (s) => s.heapUsedBytes, GROWTH_TOLERANCE_MB);
  if (steady.length < 3) violations.push(`only ${steady.length} samples after warm-up; run longer`);
  if (rss.grew) violations.push(`RSS grew after warm-up: ${rss.firstMB.toFixed(1)} -> ${rss.lastMB.toFixed(1)} MB`);
  if (heap.grew) violations.push(`heap grew after warm-up: ${heap.firstMB.toFixed(1)} -> ${heap.lastMB.toFixed(1)} MB`);
  if (exit !== 0) violations.push(`the proxy exited with ${String(exit)} on SIGTERM`);

  const p99s = steady.map((r) => r.eventLoopP99Ms);
  const summary = {
    minutes, elapsedSeconds: Math.round(elapsedMs / 1000), ttlSeconds: TTL_SECONDS, refreshWindowMs: windowMs,
    requests: total, succeeded, failures, replayed,
    tokenRequests, expectedTokenRequests: Math.round(expectedTokens * 10) / 10, tokenRange,
    eventLoopP99Ms: { median: percentile(p99s, 50), max: Math.max(0, ...p99s) },
    rss, heap, warmupSeconds: warmupMs / 1000, violations, samples: rows,
  };
  const verdict = violations.length === 0 ? 'PASS' : `FAIL (${violations.length})`;
  const markdown = [
    `# Soak: ${minutes} min`,
    '',
    `Written by \`npm run soak -- --minutes ${minutes}\` on ${new Date().toISOString()} (Node ${process.version}).`,
    `${TTL_SECONDS} s tokens (refreshed every ${(windowMs / 1000).toFixed(2)} s), ${LOAD.workers} callers pausing ${LOAD.pauseMs} ms, mixed GET/POST/PATCH/DELETE with bodies of 50 B–256 KB.`,
    `Samples of the proxy process every ${SAMPLE_INTERVAL_MS / 1000} s; warm-up ${warmupMs / 1000} s.`,
    '',
    `- verdict: **${verdict}**`,
    `- requests: ${total}, succeeded: ${succeeded}, failed: ${total - succeeded}${total === succeeded ? '' : ` ${JSON.stringify(failures)}`}, replayed after 401: ${replayed}`,
    `- token requests: ${tokenRequests} (expected ≈ ${expectedTokens.toFixed(1)} = 1 + ${(elapsedMs / 1000).toFixed(0)} s / ${(windowMs / 1000).toFixed(2)} s; allowed ${tokenRange[0]}–${tokenRange[1]})`,
    `- event loop p99 after warm-up: median ${summary.eventLoopP99Ms.median.toFixed(1)} ms, max ${summary.eventLoopP99Ms.max.toFixed(1)} ms`,
    `- RSS after warm-up: first third ${rss.firstMB.toFixed(1)} MB, last third ${rss.lastMB.toFixed(1)} MB, slope ${rss.slopeMBPerMin.toFixed(2)} MB/min`,
    `- heap used after warm-up: first third ${heap.firstMB.toFixed(1)} MB, last third ${heap.lastMB.toFixed(1)} MB, slope ${heap.slopeMBPerMin.toFixed(2)} MB/min`,
    ...violations.slice(0, 20).map((v) => `- violation: ${v}`),
    '',
    soakTable(rows),
    '',
  ].join('\n');
  process.stdout.write(`\n${markdown}\n`);
  const minutesLabel = Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(1);
  writeResults(join('bench', 'results', `soak-${minutesLabel}min`), markdown, summary);
  process.exitCode = violations.length === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
