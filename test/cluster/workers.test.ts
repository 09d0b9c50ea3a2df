/**
 * PROXY_WORKERS=2 as a real process group (node:cluster) in front of the SuiteCRM double: both
 * workers serve, and the group shares one token: one grant for a cold burst, one for a burst of
 * 401s, none per worker. SIGTERM stops the group cleanly.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { CC_ENV } from '../support/proxy-harness.js';
import { burst as burstGet } from '../support/burst.js';
import { until } from '../support/wait.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

let crm: FakeSuiteCrm;
let group: ChildProcess;
let url: string;
const lines: Array<Record<string, unknown>> = [];
let exited: Promise<number | null>;

before(async () => {
  crm = await startFakeSuiteCrm();
  crm.faults.tokenDelayMs = 200;
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  group = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...CC_ENV, SUITECRM_URL: crm.url, PROXY_PORT: String(port), PROXY_WORKERS: '2', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  exited = new Promise((resolve) => group.once('exit', (code) => resolve(code)));
  let pending = '';
  group.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  await until('two workers listening', () => lines.filter((l) => String(l.msg).startsWith('Server listening')).length === 2, 20_000);
});

after(async () => {
  await client.close();
  if (group.exitCode === null) group.kill('SIGKILL');
  await crm.close();
});

/** A thousand connections at once on a busy machine: generous timeouts, this is about counts. */
const client = new Agent({ connect: { timeout: 60_000 }, headersTimeout: 60_000, bodyTimeout: 60_000 });

const burst = (n: number): Promise<Array<number | string>> => burstGet(`${url}/Api/V8/current-user`, n, client);

test('two workers, one token: a cold burst of 1,000 requests causes one grant and both workers serve', async () => {
  const statuses = await burst(1000);
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.equal(crm.tokenRequestCount(), 1);
  await until('the request log lines', () => lines.filter((l) => l.msg === 'request').length >= 1000, 20_000);
  const workers = new Set(lines.filter((l) => l.msg === 'request').map((l) => l.worker));
  assert.deepEqual([...workers].sort(), [1, 2]);
  // The token was obtained once, by the primary (its lines carry no worker id).
  const obtained = lines.filter((l) => l.event === 'token_obtained');
  assert.equal(obtained.length, 1);
  assert.equal(obtained[0]?.worker, undefined);
});

test('two workers: 100 concurrent 401s on the shared token cause one new grant, every request replayed', async () => {
  await burst(1);
  const before = crm.tokenRequestCount();
  crm.revokeAll();
  const statuses = await burst(100);
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.equal(crm.tokenRequestCount() - before, 1);
  // Further requests on both workers keep using the renewed token.
  assert.deepEqual([...new Set(await burst(50))], [200]);
  assert.equal(crm.tokenRequestCount() - before, 1);
});

test('SIGTERM stops the workers and the primary with exit code 0', async () => {
  group.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(lines.filter((l) => l.event === 'shutdown_started').length, 2, 'each worker drains');
  assert.equal(lines.filter((l) => l.event === 'shutdown_complete').length, 2);
});
