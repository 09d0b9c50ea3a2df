/**
 * wrk (Debian's package) as the load generator: fixed duration, fixed connections, a Lua script
 * for the POST body and for a machine-readable summary line.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Method = 'GET' | 'POST';
/** Every method the bench measures, in the order it runs them. */
export const METHODS: readonly Method[] = ['GET', 'POST'];

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus socket errors: must be 0 for a valid run. */
  readonly errors: number;
}

export const GET_PATH = '/Api/V8/module/Accounts/7b2a3c1e-0000-4000-8000-000000000001';
export const POST_PATH = '/Api/V8/module';

/** A 2 KB JSON:API document to create an Account. */
export function postBody(size = 2048): string {
  const doc = { data: { type: 'Accounts', attributes: { name: 'Bench Account', description: '' } } };
  doc.data.attributes.description = 'y'.repeat(size - JSON.stringify(doc).length);
  return JSON.stringify(doc);
}

const SUMMARY = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d,\\"errors\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
`;

export function writeScripts(dir: string): Record<Method, string> {
  const get = join(dir, 'get.lua');
  const post = join(dir, 'post.lua');
  writeFileSync(get, SUMMARY);
  writeFileSync(post, `wrk.method = "POST"\nwrk.body = '${postBody()}'\nwrk.headers["Content-Type"] = "application/vnd.api+json"\n${SUMMARY}`);
  return { GET: get, POST: post };
}

export function findWrk(install: boolean): string {
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (!install || process.getuid?.() !== 0) {
    throw new Error('wrk is not installed; install it (apt-get install wrk) and run npm run bench again');
  }
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return 'wrk';
}

export interface WrkOptions {
  readonly wrk: string;
  readonly port: number;
  readonly method: Method;
  readonly script: string;
  readonly seconds: number;
  readonly connections: number;
  readonly threads: number;
  /** One request header (`Name: value`): the direct case's token (the proxies add their own), a keyed caller's key. */
  readonly header?: string;
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const path = o.method === 'GET' ? GET_PATH : POST_PATH;
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s', '-s', o.script];
  if (o.header) args.push('-H', o.header);
  args.push(`http://127.0.0.1:${o.port}${path}`);
  return new Promise((resolve, reject) => {
    execFile(o.wrk, args, { encoding: 'utf8', timeout: (o.seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(err);
      const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (!line) return reject(new Error(`wrk printed no summary:\n${stdout}`));
      const raw = JSON.parse(line.slice(9)) as { requests: number; duration_us: number; p50_us: number; p99_us: number; errors: number };
      const seconds = raw.duration_us / 1e6;
      resolve({ requests: raw.requests, seconds, rps: raw.requests / seconds, p50Ms: raw.p50_us / 1000, p99Ms: raw.p99_us / 1000, errors: raw.errors });
    });
  });
}
