/**
 * The proxy's own routes under /_proxy/: health and readiness answer, and nothing under
 * /_proxy/ is ever forwarded to SuiteCRM. The real app in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { proxyPerSuite } from '../support/suite-proxy.js';

describe('health and readiness', () => {
  const suite = proxyPerSuite();

  test('/_proxy/ is never forwarded; health and readiness answer', async () => {
    const count = suite.crm.requests.length;
    const health = await fetch(`${suite.proxy.url}/_proxy/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${suite.proxy.url}/_proxy/readyz`);
    assert.equal(ready.status, 200);
    const unknown = await fetch(`${suite.proxy.url}/_proxy/anything`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('x-suitecrm-proxy-error'), 'NOT_FOUND');
    assert.equal(suite.crm.requests.length, count);
  });
});
