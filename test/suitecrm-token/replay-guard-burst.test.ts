/**
 * Issue 22, point 4, against the SuiteCRM double: fifty requests meet a revoked token at once,
 * share one renewal, and all fifty replays carry the fresh token, which an admin revokes before
 * its first use. That is one rejection of a fresh token, not fifty: one
 * `token_rejected_after_renewal` line and the first (shortest) pause; afterwards the proxy renews
 * and serves again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { spawnProxyProcess } from '../support/drill/proxy-process.js';
import { startProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

/** A promise a test releases when it chooses. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => { release = resolve; });
  return { promise, release };
}

/** Fifty requests meet a revoked token; all fifty replays carry the fresh one, revoked before SuiteCRM looks at it. */
async function burstOnRevokedFreshToken(crm: FakeSuiteCrm, current: () => Promise<number>): Promise<number[]> {
  crm.revokeAll();
  const apiHeld = gate();
  const tokenHeld = gate();
  crm.faults.apiHold = { until: apiHeld.promise };
  crm.faults.tokenHold = { clientIds: ['cc-client'], until: tokenHeld.promise };
  const before = crm.requests.length;
  const burst = Promise.all(Array.from({ length: 50 }, () => current()));
  await until('fifty requests at SuiteCRM', () => crm.requests.length - before === 50);
  // Fifty 401s; the one renewal they cause is held until every replay waits for it.
  const replaysHeld = gate();
  crm.faults.apiHold = { until: replaysHeld.promise };
  apiHeld.release();
  await until('fifty 401s', () => crm.requests.slice(before).filter((r) => r.status === 401).length === 50);
  tokenHeld.release();
  // The replays carry the fresh token; the admin revokes it before SuiteCRM looks at it.
  await until('fifty replays at SuiteCRM', () => crm.requests.length - before === 100);
  crm.revokeAll();
  replaysHeld.release();
  const statuses = await burst;
  crm.faults = {};
  assert.deepEqual([...new Set(statuses)], [401], 'every replay got SuiteCRM\'s 401');
  const replays = crm.requests.slice(before + 50);
  assert.equal(new Set(replays.map((r) => r.tokenJti)).size, 1, 'all replays carried the one fresh token');
  return statuses;
}

async function statusOf(url: string): Promise<number> {
  const res = await fetch(`${url}/Api/V8/current-user`);
  await res.arrayBuffer();
  return res.status;
}

test('a burst of replays on one revoked fresh token counts as one rejection', async (t) => {
  const crm = await startFakeSuiteCrm();
  t.after(() => crm.close());
  const proxy = await startProxy(crm.url, { LOG_LEVEL: 'info' });
  t.after(() => proxy.close());
  const current = () => statusOf(proxy.url);
  assert.equal(await current(), 200);
  await burstOnRevokedFreshToken(crm, current);
  const counted = proxy.logEvents('token_rejected_after_renewal');
  assert.equal(counted.length, 1, 'one rejection counted');
  assert.ok((counted[0]!.pauseMs as number) <= 1000, `the first pause, not a grown one: ${String(counted[0]!.pauseMs)} ms`);
  // After that pause the next 401 renews again, and callers are served.
  await until('served again', async () => (await current()) === 200, 10_000);
  assert.equal(proxy.logEvents('token_rejected_after_renewal').length, 1);
});

test('PROXY_WORKERS=2: the primary counts the burst once, whichever worker reports it', async (t) => {
  const crm = await startFakeSuiteCrm();
  t.after(() => crm.close());
  const proxy = await spawnProxyProcess({ SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!', PROXY_WORKERS: '2' });
  t.after(() => proxy.stop());
  const current = () => statusOf(proxy.url);
  // Both workers have served with the first token (each told the primary it worked).
  await until('both workers served', async () => (await Promise.all(Array.from({ length: 10 }, current))).every((s) => s === 200));
  await burstOnRevokedFreshToken(crm, current);
  await until('served again', async () => (await current()) === 200, 10_000);
  // The primary logs in order: once the third token's line is in, the rejection line before it is too.
  await until('the third token\'s line', () => proxy.events.filter((e) => e.event === 'token_obtained').length >= 3);
  const counted = proxy.events.filter((e) => e.event === 'token_rejected_after_renewal');
  assert.equal(counted.length, 1, 'one rejection counted for the group');
  assert.ok((counted[0]!.pauseMs as number) <= 1000, `the first pause: ${String(counted[0]!.pauseMs)} ms`);
});
