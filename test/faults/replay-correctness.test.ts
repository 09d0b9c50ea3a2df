/**
 * Replay correctness (issue 6, point 2), one scenario per test: only a request SuiteCRM answered
 * with 401 is replayed (401 means it was not processed), the replayed body is byte-identical (the
 * double hashes what it receives), nothing is applied twice, and a request that failed another
 * way is re-sent only when its method is idempotent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm, type RecordedRequest } from '../support/fake-suitecrm.js';
import { sha256 } from '../support/digest.js';
import { DRILL_ID_HEADER } from '../support/drill/load.js';
import { JSONAPI } from '../support/jsonapi.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

const REPLAY_LIMIT = 256 * 1024;

let crm: FakeSuiteCrm;
let proxy: RunningProxy;
let counter = 0;

before(async () => {
  crm = await startFakeSuiteCrm();
  proxy = await startProxy(crm.url, { REPLAY_BODY_LIMIT_BYTES: String(REPLAY_LIMIT), UPSTREAM_TIMEOUT_SECONDS: '0.5', TOKEN_RETRY_MAX_SECONDS: '0.2' });
});
after(async () => {
  await proxy.close();
  await crm.close();
});

interface Sent {
  readonly id: string;
  readonly status: number;
  readonly proxyError: string | null;
  readonly body: Buffer;
  /** What SuiteCRM received for this request, in order. */
  arrivals(): RecordedRequest[];
}

async function send(method: string, path: string, body?: Buffer, contentType = JSONAPI): Promise<Sent> {
  const id = `replay-${++counter}`;
  const res = await fetch(proxy.url + path, {
    method,
    headers: { [DRILL_ID_HEADER]: id, ...(body ? { 'content-type': contentType } : {}) },
    body: body ? new Uint8Array(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  await res.arrayBuffer();
  return {
    id, status: res.status, proxyError: res.headers.get('x-suitecrm-proxy-error'), body: body ?? Buffer.alloc(0),
    arrivals: () => crm.requests.filter((r) => r.headers[DRILL_ID_HEADER] === id),
  };
}

function assertIdenticalBodies(sent: Sent): void {
  for (const arrival of sent.arrivals()) {
    assert.equal(arrival.bodyLength, sent.body.length, `${sent.id}: length`);
    assert.equal(arrival.bodySha256, sha256(sent.body), `${sent.id}: sha256`);
  }
}

const createBody = (size: number): Buffer =>
  Buffer.from(JSON.stringify({ data: { type: 'Accounts', attributes: { name: `replay ${counter}`, description: 'é'.repeat(Math.max(0, size >> 1)) } } }));
const updateBody = (size: number): Buffer =>
  Buffer.from(JSON.stringify({ data: { type: 'Accounts', id: '11111111-1111-4111-8111-111111111111', attributes: { description: 'x'.repeat(size) } } }));

async function withFault<T>(apply: () => void, run: () => Promise<T>): Promise<T> {
  apply();
  try {
    return await run();
  } finally {
    crm.faults = {};
  }
}

describe('a 401 is replayed once, byte for byte, and applied once', () => {
  const cases: Array<[string, string, string, Buffer, string?]> = [
    ['POST create, small JSON', 'POST', '/Api/V8/module', createBody(10)],
    ['POST create, 64 KB JSON', 'POST', '/Api/V8/module', createBody(64 * 1024)],
    ['PATCH update, 100 KB JSON', 'PATCH', '/Api/V8/module', updateBody(100 * 1024)],
    ['POST echo, binary body exactly at REPLAY_BODY_LIMIT_BYTES', 'POST', '/Api/V8/custom/echo', randomBytes(REPLAY_LIMIT), 'application/octet-stream'],
    ['PUT echo, one byte', 'PUT', '/Api/V8/custom/echo', Buffer.from('x'), 'text/plain'],
    ['POST echo, empty body', 'POST', '/Api/V8/custom/echo', Buffer.alloc(0), 'application/octet-stream'],
  ];
  for (const [name, method, path, body, contentType] of cases) {
    test(name, async () => {
      assert.equal((await send('GET', '/Api/V8/current-user')).status, 200);
      crm.revokeAll();
      const sent = await send(method, path, body, contentType);
      assert.ok(sent.status === 200 || sent.status === 201, `status ${sent.status}`);
      const arrivals = sent.arrivals();
      assert.deepEqual(arrivals.map((a) => a.status), [401, sent.status]);
      assert.deepEqual(arrivals.map((a) => a.applied), [false, true]);
      assert.notEqual(arrivals[0]!.tokenJti, arrivals[1]!.tokenJti, 'the replay carries the new token');
      assertIdenticalBodies(sent);
    });
  }

  test('40 POSTs in flight when every token is revoked: one new grant, each applied exactly once', async () => {
    assert.equal((await send('GET', '/Api/V8/current-user')).status, 200);
    const grants = crm.grantsIssued();
    crm.faults.apiDelayMs = 300;
    try {
      const arrivedBefore = crm.requests.length;
      const pending = Array.from({ length: 40 }, (_, i) => send('POST', '/Api/V8/module', createBody(i * 500)));
      // The double records a request on arrival and checks its token after the delay: revoke
      // once every request waits in it.
      await until('all 40 POSTs to wait in the delay', () => crm.requests.length - arrivedBefore >= 40);
      crm.revokeAll();
      const sent = await Promise.all(pending);
      assert.deepEqual([...new Set(sent.map((s) => s.status))], [201]);
      for (const s of sent) {
        const arrivals = s.arrivals();
        assert.ok(arrivals.length <= 2, `${s.id}: ${arrivals.length} arrivals`);
        assert.equal(arrivals.filter((a) => a.applied).length, 1, `${s.id}: applied once`);
        if (arrivals.length === 2) assert.equal(arrivals[0]!.status, 401, `${s.id}: re-sent only after a 401`);
        assertIdenticalBodies(s);
      }
      assert.ok(sent.filter((s) => s.arrivals().length === 2).length > 0, 'some requests were replayed');
      assert.equal(crm.grantsIssued() - grants, 1, 'one grant for all of them');
    } finally {
      crm.faults = {};
    }
  });
});

describe('answers other than 401 are never replayed', () => {
  const cases: Array<[string, string, string, Buffer | undefined, number]> = [
    ['400 for an unknown module', 'POST', '/Api/V8/module', Buffer.from('{"data":{"type":"NoSuchModule","attributes":{}}}'), 400],
    ['404 for an unknown path', 'POST', '/Api/V8/no/such/route', Buffer.from('{}'), 404],
    ['405 for a wrong method', 'PATCH', '/Api/V8/current-user', Buffer.from('{}'), 405],
  ];
  for (const [name, method, path, body, status] of cases) {
    test(name, async () => {
      const sent = await send(method, path, body);
      assert.equal(sent.status, status);
      assert.equal(sent.proxyError, null, "SuiteCRM's own answer");
      assert.deepEqual(sent.arrivals().map((a) => a.status), [status]);
    });
  }

  test('a 401 to the replay goes back to the caller: two arrivals, never three', async () => {
    await withFault(() => { crm.faults.rejectAllTokens = true; }, async () => {
      for (let i = 0; i < 5; i++) {
        const sent = await send('POST', '/Api/V8/module', createBody(100));
        assert.equal(sent.status, 401);
        assert.ok(sent.arrivals().length <= 2 && sent.arrivals().every((a) => !a.applied));
      }
    });
  });

  test('a body larger than REPLAY_BODY_LIMIT_BYTES streams once; its 401 goes back to the caller', async () => {
    await send('GET', '/Api/V8/current-user');
    crm.revokeAll();
    const sent = await send('POST', '/Api/V8/custom/echo', randomBytes(REPLAY_LIMIT + 1), 'application/octet-stream');
    assert.equal(sent.status, 401);
    assert.deepEqual(sent.arrivals().map((a) => a.status), [401]);
    assertIdenticalBodies(sent);
  });

  test('a timeout (504) is not re-sent, whatever the method', async () => {
    await send('GET', '/Api/V8/current-user');
    await withFault(() => { crm.faults.api = 'hang'; }, async () => {
      for (const [method, body] of [['GET', undefined], ['POST', createBody(100)]] as const) {
        const sent = await send(method, method === 'GET' ? '/Api/V8/current-user' : '/Api/V8/module', body);
        assert.equal(sent.proxyError, 'UPSTREAM_TIMEOUT');
        assert.equal(sent.arrivals().length, 1, `${method}: sent once`);
      }
    });
  });
});

describe('a connection reset after the body was sent', () => {
  test('POST and PATCH are not re-sent: 502, one arrival, not applied', async () => {
    await send('GET', '/Api/V8/current-user');
    await withFault(() => { crm.faults.api = 'reset'; }, async () => {
      for (const [method, body] of [['POST', createBody(2000)], ['PATCH', updateBody(2000)]] as const) {
        const sent = await send(method, '/Api/V8/module', body);
        assert.equal(sent.proxyError, 'UPSTREAM_UNREACHABLE');
        assert.equal(sent.status, 502);
        const arrivals = sent.arrivals();
        assert.equal(arrivals.length, 1, `${method} must not be re-sent`);
        assert.equal(arrivals[0]!.applied, false);
        assert.equal(arrivals[0]!.bodySha256, sha256(body), 'the whole body had arrived');
      }
    });
  });

  test('GET, PUT and DELETE are re-sent once on a fresh connection, then 502', async () => {
    await send('GET', '/Api/V8/current-user');
    await withFault(() => { crm.faults.api = 'reset'; }, async () => {
      const requests: Array<[string, string, Buffer | undefined]> = [
        ['GET', '/Api/V8/current-user', undefined],
        ['PUT', '/Api/V8/custom/echo', Buffer.from('put body')],
        ['DELETE', '/Api/V8/module/Accounts/33333333-3333-4333-8333-333333333333', undefined],
      ];
      for (const [method, path, body] of requests) {
        const sent = await send(method, path, body, 'text/plain');
        assert.equal(sent.proxyError, 'UPSTREAM_UNREACHABLE');
        assert.equal(sent.arrivals().length, 2, `${method}: once, then once more`);
        assertIdenticalBodies(sent);
      }
    });
    // The record the DELETE aimed at is still there: a reset request is not applied.
    assert.equal((await send('GET', '/Api/V8/module/Accounts/33333333-3333-4333-8333-333333333333')).status, 200);
  });
});
