/**
 * The classic stale keep-alive socket: a load balancer or NAT drops idle connections silently,
 * and the next request written on one meets a reset before any answer. An idempotent request is
 * retried once, and that retry must use a new connection: every other pooled socket may be just
 * as stale. A POST is not re-sent (the proxy cannot tell whether SuiteCRM processed it).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startStaleSocketRelay, type StaleSocketRelay } from '../support/drill/stale-socket-relay.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

let crm: FakeSuiteCrm;
let relay: StaleSocketRelay;
let proxy: RunningProxy;

before(async () => {
  crm = await startFakeSuiteCrm();
  relay = await startStaleSocketRelay(crm.port);
  proxy = await startProxy(relay.url);
});
after(async () => {
  await proxy.close();
  await relay.close();
  await crm.close();
});

/** Opens several pooled connections to SuiteCRM; then any request on one of them is reset. */
async function stalePool(resetDelayMs = 0): Promise<void> {
  relay.staleAfterMs = undefined;
  crm.faults.apiDelayMs = 50;
  const statuses = await Promise.all(Array.from({ length: 6 }, () => fetch(`${proxy.url}/Api/V8/current-user`).then((r) => r.status)));
  assert.deepEqual([...new Set(statuses)], [200]);
  crm.faults = {};
  relay.staleAfterMs = 0;
  relay.resetDelayMs = resetDelayMs;
}

const get = (): Promise<Response> => fetch(`${proxy.url}/Api/V8/module/Accounts?page[size]=1`);

/** The whole answer arrived: the retry's connection is closed only after its body was read. */
async function assertListed(res: Response): Promise<void> {
  assert.equal(res.status, 200, `got ${res.status} ${res.headers.get('x-suitecrm-proxy-error') ?? ''}`);
  const doc = (await res.json()) as { data: unknown[] };
  assert.equal(doc.data.length, 1);
}

test('a GET meeting a stale pooled socket is retried once on a new connection and succeeds', async () => {
  await stalePool();
  const cut = relay.cut;
  const before = crm.requests.length;
  await assertListed(await get());
  assert.equal(relay.cut - cut, 1, 'exactly one stale socket was met');
  assert.equal(crm.requests.length - before, 1, 'SuiteCRM saw the request once');
  assert.ok(proxy.logEvents('upstream_retry').length >= 1);
});

test('the retry uses a new connection even when other pooled sockets are idle and stale', async () => {
  // L holds the first pooled connection (reset late, then served slowly on a new socket), so G
  // starts on the second one; by the time G is reset, L is done and its connection idles, stale,
  // first in the pool: a retry "on any pooled socket" would meet it.
  await stalePool(800);
  crm.faults.apiDelayMs = 400;
  try {
    const before = crm.requests.length;
    const slow = get();
    // G starts once L's stale socket was reset and L's retry reached SuiteCRM on a new one.
    await until("L's retry on a new connection", () => crm.requests.length > before);
    const res = await get();
    await assertListed(await slow);
    await assertListed(res);
  } finally {
    crm.faults = {};
    relay.resetDelayMs = 0;
  }
});

test('a POST meeting a stale pooled socket is not re-sent: 502 UPSTREAM_UNREACHABLE, nothing applied', async () => {
  await stalePool();
  const before = crm.requests.length;
  const res = await fetch(`${proxy.url}/Api/V8/module`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.api+json' },
    body: JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'stale socket' } } }),
  });
  assert.equal(res.status, 502);
  assert.equal(res.headers.get('x-suitecrm-proxy-error'), 'UPSTREAM_UNREACHABLE');
  assert.equal(crm.requests.length - before, 0, 'SuiteCRM never saw it');
  relay.staleAfterMs = undefined;
});
