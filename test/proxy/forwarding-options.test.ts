/**
 * The @fastify/http-proxy and @fastify/reply-from options the proxy sets on purpose
 * (src/proxy/plugin.ts), each proved end to end: the real app in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { sha256 } from '../support/digest.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('forwarding options', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;
  before(async () => {
    crm = await startFakeSuiteCrm();
    proxy = await startProxy(crm.url);
  });
  beforeEach(() => crm.reset());
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  test('a redirect comes back with its Location untouched', async () => {
    const res = await fetch(`${proxy.url}/Api/V8/custom/redirect`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/Api/V8/meta/modules');
  });

  test("SuiteCRM's 503 to a GET goes straight back: no silent retry", async () => {
    crm.faults.api = 'unavailable-503';
    const res = await fetch(`${proxy.url}/Api/V8/meta/modules`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('x-suitecrm-proxy-error'), null, "SuiteCRM's answer, not ours");
    assert.match(await res.text(), /503 Service Unavailable/);
    assert.equal(crm.requests.length, 1, 'SuiteCRM saw the request once');
  });

  test('an application/json body reaches SuiteCRM byte for byte, Content-Type parameters included', async () => {
    // Whitespace and key order that JSON.stringify would change.
    const body = '{ "data" :{"type":"Accounts",  "attributes":{"name":"Ünïcode"}} }\n';
    const contentType = 'application/json; charset=UTF-8; profile="https://example.com/p"';
    const res = await fetch(`${proxy.url}/Api/V8/custom/echo`, { method: 'POST', body, headers: { 'content-type': contentType } });
    assert.equal(res.status, 200);
    const seen = crm.requests.at(-1)!;
    assert.equal(seen.bodySha256, sha256(body));
    assert.equal(seen.headers['content-type'], contentType);
    assert.equal(seen.headers['content-length'], String(Buffer.byteLength(body)));
  });

  test('multipart boundaries survive (a bare type would make the body unreadable)', async () => {
    const form = new FormData();
    form.append('name', 'x');
    const res = await fetch(`${proxy.url}/Api/V8/custom/echo`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
    assert.match(String(crm.requests.at(-1)!.headers['content-type']), /^multipart\/form-data; boundary=/);
  });

  test('a body sent without Content-Type gets none added', async () => {
    const res = await fetch(`${proxy.url}/Api/V8/custom/echo`, { method: 'PUT', body: new Uint8Array([1, 2, 3]) });
    assert.equal(res.status, 200);
    const seen = crm.requests.at(-1)!;
    assert.equal(seen.headers['content-type'], undefined);
    assert.equal(seen.bodyLength, 3);
  });

  test("reply-from's own request log lines are off: one line per request, ours", async () => {
    const before = proxy.logs.length;
    assert.equal((await fetch(`${proxy.url}/Api/V8/meta/modules`)).status, 200);
    const lines = proxy.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.filter((l) => /fetching from remote server|response received/.test(String(l.msg))), []);
    assert.equal(lines.filter((l) => l.msg === 'request').length, 1);
  });

  test('the exchange record travels through reply-from: the log line knows the request was replayed', async () => {
    assert.equal((await fetch(`${proxy.url}/Api/V8/meta/modules`)).status, 200);
    crm.revokeAll();
    const before = proxy.logs.length;
    assert.equal((await fetch(`${proxy.url}/Api/V8/meta/modules`)).status, 200);
    const line = proxy.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
    assert.equal(line?.replayed, true);
    assert.equal(crm.requests.length, 3, 'first request, the 401, the replay');
  });

  test("an upstream failure becomes our JSON:API error; reply-from's warn line for it is demoted to debug", async () => {
    crm.faults.api = 'reset';
    const before = proxy.logs.length;
    const res = await fetch(`${proxy.url}/Api/V8/module`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/vnd.api+json' } });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('x-suitecrm-proxy-error'), 'UPSTREAM_UNREACHABLE');
    const lines = proxy.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    const replyFrom = lines.filter((l) => l.msg === 'response errored');
    assert.equal(replyFrom.length, 1);
    assert.equal(replyFrom[0]?.level, 20);
  });
});
