/**
 * Token-side efficiency (issue 5), as counts rather than timings: a burst of 1,000 concurrent
 * cold requests causes one token request, and 100 concurrent 401s on the same token cause one.
 */
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { after, before, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { burst as burstGet } from '../support/burst.js';

let crm: FakeSuiteCrm;
let proxy: RunningProxy;
before(async () => {
  crm = await startFakeSuiteCrm();
  // A slow token endpoint keeps every cold request waiting on the same renewal.
  crm.faults.tokenDelayMs = 200;
  proxy = await startProxy(crm.url, { LOG_LEVEL: 'warn' });
});
after(async () => {
  await client.close();
  await proxy.close();
  await crm.close();
});

/** A thousand connections at once on a busy machine: generous timeouts, this is about counts. */
const client = new Agent({ connect: { timeout: 60_000 }, headersTimeout: 60_000, bodyTimeout: 60_000 });

const burst = (n: number): Promise<Array<number | string>> => burstGet(`${proxy.url}/Api/V8/current-user`, n, client);

test('1,000 concurrent cold requests cause one token request, and all of them are answered', async () => {
  const statuses = await burst(1000);
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.equal(crm.tokenRequestCount(), 1);
});

test('100 concurrent 401s on the same token cause one token request, and every request is replayed', async () => {
  await burst(1);
  const before = crm.tokenRequestCount();
  crm.revokeAll();
  const statuses = await burst(100);
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.equal(crm.tokenRequestCount() - before, 1);
});
