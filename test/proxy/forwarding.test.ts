/**
 * Forwarding and token injection end to end: the real app on 127.0.0.1 in front of the SuiteCRM
 * double. Requests and answers pass through unchanged (methods, queries, statuses, large and
 * chunked bodies), and SuiteCRM sees our Bearer token, never the caller's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { sha256 } from '../support/digest.js';
import { JSONAPI } from '../support/jsonapi.js';
import { startProxy } from '../support/proxy-harness.js';
import { proxyPerSuite } from '../support/suite-proxy.js';

describe('forwarding and injection', () => {
  const suite = proxyPerSuite();

  test('GET with a JSON:API query arrives unchanged, the answer comes back as SuiteCRM sent it', async () => {
    const res = await fetch(`${suite.proxy.url}/Api/V8/module/Accounts?page[size]=5`, { headers: { authorization: 'Bearer caller-own-token' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), JSONAPI);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.ok(Array.isArray(((await res.json()) as { data: unknown[] }).data));
    const seen = suite.crm.requests.at(-1)!;
    assert.equal(seen.path, '/Api/V8/module/Accounts?page[size]=5');
    const auth = String(seen.headers.authorization);
    assert.match(auth, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, 'our Bearer token, not the caller one');
    assert.ok(!auth.includes('caller-own-token'));
    assert.ok(seen.tokenJti, 'the double accepted our token');
  });

  test('POST, PATCH and DELETE with application/vnd.api+json: no 415, statuses and bodies pass through', async () => {
    const created = await fetch(`${suite.proxy.url}/Api/V8/module`, {
      method: 'POST', headers: { 'content-type': JSONAPI },
      body: JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'Proxy Ltd' } } }),
    });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as { data: { id: string } }).data.id;
    const updated = await fetch(`${suite.proxy.url}/Api/V8/module`, {
      method: 'PATCH', headers: { 'content-type': JSONAPI },
      body: JSON.stringify({ data: { type: 'Accounts', id, attributes: { name: 'Proxy GmbH' } } }),
    });
    assert.equal(updated.status, 201);
    const fetched = await fetch(`${suite.proxy.url}/Api/V8/module/Accounts/${id}`);
    assert.equal(((await fetched.json()) as { data: { attributes: { name: string } } }).data.attributes.name, 'Proxy GmbH');
    const deleted = await fetch(`${suite.proxy.url}/Api/V8/module/Accounts/${id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    const missing = await fetch(`${suite.proxy.url}/Api/V8/module/Accounts/${id}`);
    assert.equal(missing.status, 400, "SuiteCRM's own 400 for a missing record comes back");
  });

  test('SuiteCRM errors and odd statuses are passed back, not rewritten', async () => {
    const unknown = await fetch(`${suite.proxy.url}/Api/V8/module/Accounts?bogus=1`);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.headers.get('x-suitecrm-proxy-error'), null);
    const notFound = await fetch(`${suite.proxy.url}/Api/V8/nope`, { headers: { accept: 'application/json' } });
    assert.equal(notFound.status, 404);
    assert.deepEqual(await notFound.json(), { message: 'Not found' });
    const redirect = await fetch(`${suite.proxy.url}/Api/V8/custom/redirect`, { redirect: 'manual' });
    assert.equal(redirect.status, 302, 'redirects are handed back, never followed with the token');
  });

  test('a 20 MB upload streams through intact', async () => {
    const body = randomBytes(20 * 1024 * 1024);
    const res = await fetch(`${suite.proxy.url}/Api/V8/custom/echo`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(res.status, 200);
    const echo = (await res.json()) as { bodyLength: number; bodySha256: string };
    assert.equal(echo.bodyLength, body.length);
    assert.equal(echo.bodySha256, sha256(body));
  });

  test('chunked uploads: a small one is kept for replay, a large one streams past the limit intact', async () => {
    const small = await startProxy(suite.crm.url, { REPLAY_BODY_LIMIT_BYTES: '65536' });
    try {
      const chunked = (parts: Buffer[]) => new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = parts.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      });
      const pieces = Array.from({ length: 40 }, () => randomBytes(16 * 1024));
      const whole = Buffer.concat(pieces);
      const big = await fetch(`${small.url}/Api/V8/custom/echo`, { method: 'PUT', body: chunked([...pieces]), duplex: 'half' } as RequestInit);
      assert.equal(big.status, 200);
      assert.equal(((await big.json()) as { bodySha256: string }).bodySha256, sha256(whole));
      suite.crm.revokeAll();
      const tiny = [Buffer.from('{"data":'), Buffer.from('{"type":"Accounts","attributes":{"name":"Chunked"}}}')];
      const json = Buffer.concat(tiny);
      const created = await fetch(`${small.url}/Api/V8/module`, { method: 'POST', headers: { 'content-type': JSONAPI }, body: chunked([...tiny]), duplex: 'half' } as RequestInit);
      assert.equal(created.status, 201, 'the chunked body was kept and replayed after the 401');
      assert.deepEqual(suite.crm.requests.slice(-2).map((r) => [r.status, r.bodySha256]), [[401, sha256(json)], [201, sha256(json)]]);
    } finally {
      await small.close();
    }
  });

  test('HEAD and OPTIONS are forwarded', async () => {
    const head = await fetch(`${suite.proxy.url}/Api/V8/module/Accounts`, { method: 'HEAD' });
    assert.ok(head.status === 200 || head.status === 405, `HEAD answered ${head.status}`);
    assert.equal(suite.crm.requests.at(-1)!.method, 'HEAD');
    const options = await fetch(`${suite.proxy.url}/Api/V8/module/Accounts`, { method: 'OPTIONS' });
    assert.equal(options.status, 200);
    assert.match(await options.text(), /Allowed methods/);
  });

  test('a large download streams back intact', async () => {
    const res = await fetch(`${suite.proxy.url}/Api/V8/custom/big?bytes=5000000`);
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 5_000_000);
  });
});
