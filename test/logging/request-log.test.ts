/**
 * The request log line (src/app.ts, pino options in src/logging.ts): method, path, status, time
 * and whether the request was replayed; no secret or token in any captured log line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { JSONAPI } from '../support/jsonapi.js';
import { jtiOf } from '../support/jwt.js';
import { PW_ENV, startProxy } from '../support/proxy-harness.js';

test('request log lines name method, path, status and time; no secret or token in any log line', async () => {
  const crm = await startFakeSuiteCrm();
  const proxy = await startProxy(crm.url, PW_ENV);
  try {
    await fetch(`${proxy.url}/Api/V8/module/Accounts?filter[name][eq]=x`, { headers: { authorization: 'Bearer caller-secret-abc' } });
    crm.revokeAll();
    await fetch(`${proxy.url}/Api/V8/module`, { method: 'POST', headers: { 'content-type': JSONAPI }, body: '{"data":{"type":"Accounts","attributes":{"name":"x"}}}' });
    const lines = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.msg === 'request');
    assert.deepEqual(requests.map((l) => [l.method, l.path, l.status, l.replayed]), [
      ['GET', '/Api/V8/module/Accounts', 200, false], ['POST', '/Api/V8/module', 201, true]]);
    assert.ok(requests.every((l) => typeof l.ms === 'number'));
    const text = proxy.logs.join('\n');
    const issued = crm.requests.map((r) => String(r.headers.authorization ?? '').replace('Bearer ', '')).filter(Boolean);
    for (const secret of ['pw-secret-S3cr3t!', 'admin-P4ssw0rd!', 'caller-secret-abc', 'def50200', ...issued, ...issued.map(jtiOf)]) {
      assert.ok(!text.includes(secret), `log leaks ${secret.slice(0, 12)}...`);
    }
  } finally {
    await proxy.close();
    await crm.close();
  }
});

test('the proxy\'s own token endpoint and logout get their request line too', async () => {
  const crm = await startFakeSuiteCrm();
  const proxy = await startProxy(crm.url, PW_ENV);
  try {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    await fetch(`${proxy.url}/Api/access_token`, { method: 'POST', headers: form, body: 'grant_type=client_credentials&client_id=pw-client&client_secret=wrong' });
    await fetch(`${proxy.url}/Api/V8/logout`, { method: 'POST' });
    const requests = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    assert.deepEqual(requests.map((l) => [l.method, l.path, l.status]), [['POST', '/Api/access_token', 401], ['POST', '/Api/V8/logout', 200]]);
  } finally {
    await proxy.close();
    await crm.close();
  }
});
