/**
 * PROXY_WORKERS=2 as a real process group: the rate limit (here PROXY_RATE_LIMIT_PER_SECOND for the
 * anonymous caller) and the failed-login throttle count once for the group, in the primary, not
 * once per worker, while requests land on both workers.
 */
import assert from 'node:assert/strict';
import { before, after, test } from 'node:test';
import { request } from 'undici';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { CC_ENV } from '../support/proxy-harness.js';
import { startProxyProcess, type ProxyProcess } from '../support/proxy-process.js';
import { until } from '../support/wait.js';

const PER_SECOND = 0.5;
const BURST = 2;

let crm: FakeSuiteCrm;
let group: ProxyProcess;

before(async () => {
  crm = await startFakeSuiteCrm();
  group = await startProxyProcess({
    ...CC_ENV, SUITECRM_URL: crm.url, PROXY_WORKERS: '2',
    PROXY_RATE_LIMIT_PER_SECOND: String(PER_SECOND), PROXY_RATE_LIMIT_BURST: String(BURST),
  });
  await until('both workers listening', () => group.logs().filter((l) => String(l.msg).startsWith('Server listening')).length === 2, 30_000);
});

after(async () => {
  group.child.kill('SIGTERM');
  await group.exited;
  await crm.close();
});

/** Each on a connection of its own (`reset`), so the primary hands them to the workers in turn. */
async function send(path: string, init: { method?: 'POST'; body?: string } = {}): Promise<number> {
  const response = await request(`${group.url}${path}`, {
    reset: true, method: init.method ?? 'GET', body: init.body,
    headers: init.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
  });
  await response.body.dump();
  return response.statusCode;
}

/** The workers that wrote the request lines from `from` on, for `path`. */
function workersServing(from: number, path: string): Set<unknown> {
  return new Set(group.logs().slice(from).filter((l) => l.msg === 'request' && l.path === path).map((l) => l.worker));
}

test('one rate limit for the group: burst 2 and 6 requests over both workers give 2 x 200 plus what refilled', async () => {
  const from = group.logs().length;
  const startedAt = performance.now();
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push(await send('/Api/V8/module/Accounts'));
  const refilled = Math.floor(((performance.now() - startedAt) / 1000) * PER_SECOND);
  const served = statuses.filter((s) => s === 200).length;
  assert.ok(served >= BURST && served <= BURST + refilled, `${served} x 200 with ${refilled} refilled: ${statuses.join(' ')}`);
  assert.equal(statuses.filter((s) => s === 429).length, 6 - served);
  await until('the request lines', () => group.logs().slice(from).filter((l) => l.msg === 'request').length >= 6);
  assert.deepEqual([...workersServing(from, '/Api/V8/module/Accounts')].sort(), [1, 2], 'both workers served');
});

test('one failed-login throttle for the group: 25 wrong secrets over both workers give 20 x 401, then 429', async () => {
  const from = group.logs().length;
  const statuses: number[] = [];
  for (let i = 0; i < 25; i++) {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: CC_ENV.SUITECRM_CLIENT_ID, client_secret: `wrong-${i}` }).toString();
    statuses.push(await send('/Api/access_token', { method: 'POST', body }));
  }
  assert.deepEqual(statuses, [...Array<number>(20).fill(401), ...Array<number>(5).fill(429)]);
  await until('the request lines', () => group.logs().slice(from).filter((l) => l.msg === 'request').length >= 25);
  assert.deepEqual([...workersServing(from, '/Api/access_token')].sort(), [1, 2], 'both workers answered');
});
