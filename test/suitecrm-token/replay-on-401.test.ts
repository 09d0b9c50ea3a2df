/**
 * A 401 from SuiteCRM: the proxy re-authenticates and replays the request once (bodies byte for
 * byte, applied once), concurrent 401s share one grant, a permanent 401 goes back to the caller.
 * The real app on 127.0.0.1 in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sha256 } from '../support/digest.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { JSONAPI } from '../support/jsonapi.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('401: re-authenticate and replay', () => {
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

  test('a revoked token is replaced and a GET replayed transparently', async () => {
    assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
    const grants = crm.grantsIssued();
    crm.revokeAll();
    const res = await fetch(`${proxy.url}/Api/V8/current-user`);
    assert.equal(res.status, 200);
    assert.equal(crm.grantsIssued() - grants, 1);
    const [rejected, replayed] = crm.requests.slice(-2);
    assert.equal(rejected!.status, 401);
    assert.equal(replayed!.status, 200);
    assert.notEqual(rejected!.tokenJti ?? 'none', replayed!.tokenJti);
  });

  test('a POST with a JSON body is replayed byte for byte and applied once', async () => {
    await fetch(`${proxy.url}/Api/V8/current-user`);
    crm.revokeAll();
    const body = JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'Replay Ltd', note: 'ü'.repeat(1000) } } });
    const res = await fetch(`${proxy.url}/Api/V8/module`, { method: 'POST', headers: { 'content-type': JSONAPI }, body });
    assert.equal(res.status, 201);
    const posts = crm.requests.filter((r) => r.method === 'POST' && r.path === '/Api/V8/module').slice(-2);
    assert.deepEqual(posts.map((r) => r.status), [401, 201]);
    assert.ok(posts.every((r) => r.bodySha256 === sha256(body) && r.bodyLength === Buffer.byteLength(body)));
    assert.deepEqual(posts.map((r) => r.applied), [false, true]);
  });

  test('fifty concurrent 401s for the same token cause one new grant', async () => {
    await fetch(`${proxy.url}/Api/V8/current-user`);
    crm.revokeAll();
    const grants = crm.grantsIssued();
    const statuses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${proxy.url}/Api/V8/current-user`).then((r) => r.status)));
    assert.ok(statuses.every((s) => s === 200), String(statuses));
    assert.equal(crm.grantsIssued() - grants, 1);
  });

  test('a permanent 401 goes back to the caller: no loop, bounded token requests', async () => {
    crm.faults.rejectAllTokens = true;
    try {
      const before = crm.tokenRequestCount();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${proxy.url}/Api/V8/current-user`);
        assert.equal(res.status, 401);
        assert.equal(((await res.json()) as { error: string }).error, 'access_denied', "SuiteCRM's own 401 body");
      }
      assert.ok(crm.tokenRequestCount() - before <= 2, `token requests: ${crm.tokenRequestCount() - before}`);
    } finally {
      crm.faults.rejectAllTokens = false;
    }
  });

  test('a body larger than REPLAY_BODY_LIMIT_BYTES streams and its 401 goes back to the caller', async () => {
    const small = await startProxy(crm.url, { REPLAY_BODY_LIMIT_BYTES: '1024' });
    try {
      await fetch(`${small.url}/Api/V8/current-user`);
      crm.revokeAll();
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
