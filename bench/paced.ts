/**
 * Latency at a fixed request rate (default 500 requests/s), not wrk's closed loop: hey (Debian's
 * package) with a few workers, each paced to its share of the rate, so every case gets the same
 * arrival rate and the figures compare what one request costs in time, without queueing from
 * saturation. Every answer's latency is read (hey -o csv) and the percentiles computed here.
 */
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binnedPercentile } from './stats.js';
import { GET_PATH, POST_PATH, postBody, type Method } from './wrk.js';

export interface PacedResult {
  readonly requests: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers and failed requests. */
  readonly errors: number;
}

export interface PacedOptions {
  readonly hey: string;
  readonly port: number;
  readonly method: Method;
  readonly seconds: number;
  /** Requests per second in total. */
  readonly rate: number;
  /** hey workers (connections); each is paced to rate / workers. */
  readonly workers: number;
  readonly header?: string;
  /** The POST body file (writePostBody). */
  readonly bodyFile: string;
}

export function findHey(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v hey'], { encoding: 'utf8' }).stdout.trim();
  return found === '' ? undefined : found;
}

export function writePostBody(dir: string): string {
  const file = join(dir, 'post-body.json');
  writeFileSync(file, postBody());
  return file;
}

/** hey writes latencies in seconds with 4 decimals. */
const HEY_STEP_MS = 0.1;

/** hey's CSV: response-time (s), DNS+dialup, DNS, request-write, response-delay, response-read, status-code, offset. */
function parseCsv(csv: string, seconds: number): PacedResult {
  const latencies: number[] = [];
  let errors = 0;
  for (const line of csv.split('\n').slice(1)) {
    const fields = line.split(',');
    if (fields.length < 8) continue;
    const status = Number(fields[6]);
    if (!(status >= 200 && status < 300)) errors += 1;
    // Rounded back to the 0.1 ms steps hey wrote, so equal values compare equal.
    latencies.push(Math.round(Number(fields[0]) * 10_000) / 10);
  }
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, seconds, p50Ms: binnedPercentile(latencies, 50, HEY_STEP_MS), p99Ms: binnedPercentile(latencies, 99, HEY_STEP_MS), errors };
}

export function runPaced(o: PacedOptions): Promise<PacedResult> {
  const perWorker = o.rate / o.workers;
  const args = ['-z', `${o.seconds}s`, '-c', String(o.workers), '-q', String(perWorker), '-t', '5', '-o', 'csv', '-m', o.method];
  if (o.method === 'POST') args.push('-D', o.bodyFile, '-T', 'application/vnd.api+json');
  if (o.header) args.push('-H', o.header);
  args.push(`http://127.0.0.1:${o.port}${o.method === 'GET' ? GET_PATH : POST_PATH}`);
  return new Promise((resolve, reject) => {
    execFile(o.hey, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, timeout: (o.seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(err);
      resolve(parseCsv(stdout, o.seconds));
    });
  });
}
