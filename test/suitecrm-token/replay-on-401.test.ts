/**
 * A 401 from SuiteCRM: the proxy re-authenticates and replays the request once (bodies byte for
 * byte, applied once), concurrent 401s share one grant, a permanent 401 goes back to the caller.
 * The real app on 127.0.0.1 in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { sha256 } from '../support/digest.js';
import { JSONAPI } from '../support/jsonapi.js';
import { startProxy } from '../support/proxy-harness.js';
import { proxyPerSuite } from '../support/suite-proxy.js';

describe('401: re-authenticate and replay', () => {
  const suite = proxyPerSuite();

  test('a revoked token is replaced and a GET replayed transparently', async () => {
    assert.equal((await fetch(`${suite.proxy.url}/Api/V8/current-user`)).status, 200);
    const grants = suite.crm.grantsIssued();
    suite.crm.revokeAll();
    const res = await fetch(`${suite.proxy.url}/Api/V8/current-user`);
    assert.equal(res.status, 200);
    assert.equal(suite.crm.grantsIssued() - grants, 1);
    const [rejected, replayed] = suite.crm.requests.slice(-2);
    assert.equal(rejected!.status, 401);
    assert.equal(replayed!.status, 200);
    assert.notEqual(rejected!.tokenJti ?? 'none', replayed!.tokenJti);
  });

  test('a POST with a JSON body is replayed byte for byte and applied once', async () => {
    await fetch(`${suite.proxy.url}/Api/V8/current-user`);
    suite.crm.revokeAll();
    const body = JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'Replay Ltd', note: 'ü'.repeat(1000) } } });
    const res = await fetch(`${suite.proxy.url}/Api/V8/module`, { method: 'POST', headers: { 'content-type': JSONAPI }, body });
    assert.equal(res.status, 201);
    const posts = suite.crm.requests.filter((r) => r.method === 'POST' && r.path === '/Api/V8/module').slice(-2);
    assert.deepEqual(posts.map((r) => r.status), [401, 201]);
    assert.ok(posts.every((r) => r.bodySha256 === sha256(body) && r.bodyLength === Buffer.byteLength(body)));
    assert.deepEqual(posts.map((r) => r.applied), [false, true]);
  });

  test('fifty concurrent 401s for the same token cause one new grant', async () => {
    await fetch(`${suite.proxy.url}/Api/V8/current-user`);
    suite.crm.revokeAll();
    const grants = suite.crm.grantsIssued();
    const statuses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${suite.proxy.url}/Api/V8/current-user`).then((r) => r.status)));
    assert.ok(statuses.every((s) => s === 200), String(statuses));
    assert.equal(suite.crm.grantsIssued() - grants, 1);
  });

  test('a permanent 401 goes back to the caller: no loop, bounded token requests', async () => {
    suite.crm.faults.rejectAllTokens = true;
    try {
      const before = suite.crm.tokenRequestCount();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${suite.proxy.url}/Api/V8/current-user`);
        assert.equal(res.status, 401);
        assert.equal(((await res.json()) as { error: string }).error, 'access_denied', "SuiteCRM's own 401 body");
      }
      assert.ok(suite.crm.tokenRequestCount() - before <= 2, `token requests: ${suite.crm.tokenRequestCount() - before}`);
    } finally {
      suite.crm.faults.rejectAllTokens = false;
    }
  });

  test('a body larger than REPLAY_BODY_LIMIT_BYTES streams and its 401 goes back to the caller', async () => {
    const small = await startProxy(suite.crm.url, { REPLAY_BODY_LIMIT_BYTES: '1024' });
    try {
      await fetch(`${small.url}/Api/V8/current-user`);
      suite.crm.revokeAll();
      const body = randomBytes(4096);
      const res = await fetch(`${small.url}/Api/V8/custom/echo`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(res.status, 401);
      const next = await fetch(`${small.url}/Api/V8/custom/echo`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(next.status, 200, 'the rejected token was dropped, the next request gets a new one');
      assert.equal(((await next.json()) as { bodySha256: string }).bodySha256, sha256(body));
    } finally {
      await small.close();
    }
  });
});
