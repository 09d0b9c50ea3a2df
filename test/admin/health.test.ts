/**
 * The proxy's own routes under /_proxy/: health and readiness answer, and nothing under
 * /_proxy/ is ever forwarded to SuiteCRM. The real app in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('health and readiness', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;
  before(async () => {
    crm = await startFakeSuiteCrm();
    proxy = await startProxy(crm.url);
  });
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  test('/_proxy/ is never forwarded; health and readiness answer', async () => {
    const count = crm.requests.length;
    const health = await fetch(`${proxy.url}/_proxy/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${proxy.url}/_proxy/readyz`);
    assert.equal(ready.status, 200);
    const unknown = await fetch(`${proxy.url}/_proxy/anything`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('x-suitecrm-proxy-error'), 'NOT_FOUND');
    assert.equal(crm.requests.length, count);
  });
});
