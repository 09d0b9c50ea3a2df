/**
 * The core proxy end to end: the real app on 127.0.0.1 in front of the SuiteCRM double.
 * One test per capability of issue 2 (forwarding, grants, cache, single flight, injection,
 * replay, token endpoint failures, errors, health).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { PW_ENV, startProxy, type RunningProxy } from '../support/proxy-harness.js';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const JSONAPI = 'application/vnd.api+json';

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function jtiOf(jwt: string): string {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
  return payload.jti;
}

describe('forwarding and injection', () => {
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

  test('GET with a JSON:API query arrives unchanged, the answer comes back as SuiteCRM sent it', async () => {
    const res = await fetch(`${proxy.url}/Api/V8/module/Accounts?page[size]=5`, { headers: { authorization: 'Bearer caller-own-token' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), JSONAPI);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.ok(Array.isArray(((await res.json()) as { data: unknown[] }).data));
    const seen = crm.requests.at(-1)!;
    assert.equal(seen.path, '/Api/V8/module/Accounts?page[size]=5');
    const auth = String(seen.headers.authorization);
    assert.match(auth, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, 'our Bearer token, not the caller one');
    assert.ok(!auth.includes('caller-own-token'));
    assert.ok(seen.tokenJti, 'the double accepted our token');
  });

  test('POST, PATCH and DELETE with application/vnd.api+json: no 415, statuses and bodies pass through', async () => {
    const created = await fetch(`${proxy.url}/Api/V8/module`, {
      method: 'POST', headers: { 'content-type': JSONAPI },
      body: JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'Proxy Ltd' } } }),
    });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as { data: { id: string } }).data.id;
    const updated = await fetch(`${proxy.url}/Api/V8/module`, {
      method: 'PATCH', headers: { 'content-type': JSONAPI },
      body: JSON.stringify({ data: { type: 'Accounts', id, attributes: { name: 'Proxy GmbH' } } }),
    });
    assert.equal(updated.status, 201);
    const fetched = await fetch(`${proxy.url}/Api/V8/module/Accounts/${id}`);
    assert.equal(((await fetched.json()) as { data: { attributes: { name: string } } }).data.attributes.name, 'Proxy GmbH');
    const deleted = await fetch(`${proxy.url}/Api/V8/module/Accounts/${id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    const missing = await fetch(`${proxy.url}/Api/V8/module/Accounts/${id}`);
    assert.equal(missing.status, 400, "SuiteCRM's own 400 for a missing record comes back");
  });

  test('SuiteCRM errors and odd statuses are passed back, not rewritten', async () => {
    const unknown = await fetch(`${proxy.url}/Api/V8/module/Accounts?bogus=1`);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.headers.get('x-suitecrm-proxy-error'), null);
    const notFound = await fetch(`${proxy.url}/Api/V8/nope`, { headers: { accept: 'application/json' } });
    assert.equal(notFound.status, 404);
    assert.deepEqual(await notFound.json(), { message: 'Not found' });
    const redirect = await fetch(`${proxy.url}/Api/V8/custom/redirect`, { redirect: 'manual' });
    assert.equal(redirect.status, 302, 'redirects are handed back, never followed with the token');
  });

  test('a 20 MB upload streams through intact', async () => {
    const body = randomBytes(20 * 1024 * 1024);
    const res = await fetch(`${proxy.url}/Api/V8/custom/echo`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(res.status, 200);
    const echo = (await res.json()) as { bodyLength: number; bodySha256: string };
    assert.equal(echo.bodyLength, body.length);
    assert.equal(echo.bodySha256, sha256(body));
  });

  test('chunked uploads: a small one is kept for replay, a large one streams past the limit intact', async () => {
    const small = await startProxy(crm.url, { REPLAY_BODY_LIMIT_BYTES: '65536' });
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
      crm.revokeAll();
      const tiny = [Buffer.from('{"data":'), Buffer.from('{"type":"Accounts","attributes":{"name":"Chunked"}}}')];
      const json = Buffer.concat(tiny);
      const created = await fetch(`${small.url}/Api/V8/module`, { method: 'POST', headers: { 'content-type': JSONAPI }, body: chunked([...tiny]), duplex: 'half' } as RequestInit);
      assert.equal(created.status, 201, 'the chunked body was kept and replayed after the 401');
      assert.deepEqual(crm.requests.slice(-2).map((r) => [r.status, r.bodySha256]), [[401, sha256(json)], [201, sha256(json)]]);
    } finally {
      await small.close();
    }
  });

  test('HEAD and OPTIONS are forwarded', async () => {
    const head = await fetch(`${proxy.url}/Api/V8/module/Accounts`, { method: 'HEAD' });
    assert.ok(head.status === 200 || head.status === 405, `HEAD answered ${head.status}`);
    assert.equal(crm.requests.at(-1)!.method, 'HEAD');
    const options = await fetch(`${proxy.url}/Api/V8/module/Accounts`, { method: 'OPTIONS' });
    assert.equal(options.status, 200);
    assert.match(await options.text(), /Allowed methods/);
  });

  test('a large download streams back intact', async () => {
    const res = await fetch(`${proxy.url}/Api/V8/custom/big?bytes=5000000`);
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 5_000_000);
  });

  test('one token serves many requests, and 500 concurrent cold requests cause one grant', async () => {
    const cold = await startProxy(crm.url);
    try {
      const before = crm.tokenRequestCount();
      const answers = await Promise.all(Array.from({ length: 500 }, () => fetch(`${cold.url}/Api/V8/meta/modules`).then(async (r) => { await r.arrayBuffer(); return r.status; })));
      assert.ok(answers.every((s) => s === 200), `statuses: ${[...new Set(answers)]}`);
      assert.equal(crm.tokenRequestCount() - before, 1);
      for (let i = 0; i < 20; i++) assert.equal((await fetch(`${cold.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.tokenRequestCount() - before, 1);
    } finally {
      await cold.close();
    }
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

describe('grants', () => {
  let crm: FakeSuiteCrm;
  before(async () => {
    crm = await startFakeSuiteCrm();
  });
  after(async () => crm.close());

  test('password grant renews with the refresh token, which rotates', async () => {
    const proxy = await startProxy(crm.url, PW_ENV);
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.tokenRequests.at(-1)!.grant, 'password');
      for (let round = 0; round < 3; round++) {
        crm.revokeAccessToken(String(crm.requests.at(-1)!.headers.authorization).slice(7));
        assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
        assert.equal(crm.tokenRequests.at(-1)!.grant, 'refresh_token');
        assert.equal(crm.tokenRequests.at(-1)!.status, 200, 'always the newest refresh token');
      }
    } finally {
      await proxy.close();
    }
  });

  test('a failing refresh (the 7.13.3-7.14.4 invalid_client bug) falls back to the full grant', async () => {
    const proxy = await startProxy(crm.url, PW_ENV);
    try {
      await fetch(`${proxy.url}/Api/V8/current-user`);
      crm.faults.refreshInvalidClientBug = true;
      crm.revokeAll();
      const res = await fetch(`${proxy.url}/Api/V8/current-user`);
      assert.equal(res.status, 200);
      assert.deepEqual(crm.tokenRequests.slice(-2).map((t) => [t.grant, t.status]), [['refresh_token', 401], ['password', 200]]);
    } finally {
      crm.faults.refreshInvalidClientBug = false;
      await proxy.close();
    }
  });

  test('refresh_token grant bootstraps from a supplied refresh token and keeps the newest', async () => {
    const login = await fetch(`${crm.url}/Api/access_token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'pw-client', client_secret: 'pw-secret-S3cr3t!', username: 'admin', password: 'admin-P4ssw0rd!' }),
    });
    const { refresh_token: bootstrap } = (await login.json()) as { refresh_token: string };
    const proxy = await startProxy(crm.url, { ...PW_ENV, SUITECRM_GRANT_TYPE: 'refresh_token', SUITECRM_REFRESH_TOKEN: bootstrap });
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      crm.revokeAccessToken(String(crm.requests.at(-1)!.headers.authorization).slice(7));
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.deepEqual(crm.tokenRequests.slice(-2).map((t) => [t.grant, t.status]), [['refresh_token', 200], ['refresh_token', 200]]);
      assert.ok(!proxy.logs.join('\n').includes(bootstrap));
    } finally {
      await proxy.close();
    }
  });

  test('JSON token requests as an option; scope is never sent', async () => {
    const proxy = await startProxy(crm.url, { ...PW_ENV, SUITECRM_TOKEN_REQUEST_FORMAT: 'json' });
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      const sent = crm.tokenRequests.at(-1)!;
      assert.match(sent.contentType, /^application\/json/);
      assert.ok(!('scope' in sent.body));
    } finally {
      await proxy.close();
    }
  });

  test("SuiteCRM 8: a /legacy base path is kept on every request", async () => {
    const proxy = await startProxy(`${crm.url}/legacy`);
    try {
      const tokenCount = crm.tokenRequestCount();
      const res = await fetch(`${proxy.url}/Api/V8/module/Accounts`);
      assert.equal(res.status, 200);
      assert.equal(crm.requests.at(-1)!.path, '/legacy/Api/V8/module/Accounts');
      assert.equal(crm.tokenRequestCount() - tokenCount, 1);
    } finally {
      await proxy.close();
    }
  });
});

describe('token endpoint failures and the proxy\'s own errors', () => {
  let crm: FakeSuiteCrm;
  before(async () => {
    crm = await startFakeSuiteCrm();
  });
  after(async () => crm.close());

  function assertProxyError(res: Response, body: { errors: Array<Record<string, string>> }, status: number, code: string): void {
    assert.equal(res.status, status);
    assert.equal(res.headers.get('content-type'), JSONAPI);
    assert.equal(res.headers.get('x-suitecrm-proxy-error'), code);
    assert.equal(body.errors[0]!.code, code);
    assert.equal(body.errors[0]!.status, String(status));
    assert.ok(body.errors[0]!.title && body.errors[0]!.detail);
  }

  test('rejected client secret: fast 503 CREDENTIALS_REJECTED naming the setting, SuiteCRM not hammered', async () => {
    const proxy = await startProxy(crm.url, { SUITECRM_CLIENT_SECRET: 'wrong-secret-Zq9' });
    try {
      const before = crm.tokenRequestCount();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${proxy.url}/Api/V8/current-user`);
        const body = (await res.json()) as { errors: Array<Record<string, string>> };
        assertProxyError(res, body, 503, 'CREDENTIALS_REJECTED');
        assert.match(body.errors[0]!.detail!, /SUITECRM_CLIENT_SECRET/);
        assert.ok(Number(res.headers.get('retry-after')) >= 1);
      }
      assert.equal(crm.tokenRequestCount() - before, 1);
      const ready = await fetch(`${proxy.url}/_proxy/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.headers.get('x-suitecrm-proxy-error'), 'CREDENTIALS_REJECTED');
      assert.ok(!proxy.logs.join('\n').includes('wrong-secret-Zq9'));
    } finally {
      await proxy.close();
    }
  });

  test("a wrong password (SuiteCRM's 500 echoing it) is classified and never logged or forwarded", async () => {
    const proxy = await startProxy(crm.url, { ...PW_ENV, SUITECRM_PASSWORD: 'Wr0ng-Pass-7731' });
    try {
      const res = await fetch(`${proxy.url}/Api/V8/current-user`);
      const text = await res.text();
      assertProxyError(res, JSON.parse(text), 503, 'CREDENTIALS_REJECTED');
      assert.match(text, /SUITECRM_PASSWORD/);
      assert.ok(!text.includes('Wr0ng-Pass-7731'));
      assert.ok(!proxy.logs.join('\n').includes('Wr0ng-Pass-7731'));
    } finally {
      await proxy.close();
    }
  });

  for (const fault of ['error500', 'html500', 'garbage', 'bad-gateway-502', 'reset'] as const) {
    test(`token endpoint ${fault}: fast 503 TOKEN_UNAVAILABLE with Retry-After, then recovery`, async () => {
      const proxy = await startProxy(crm.url, { TOKEN_RETRY_MAX_SECONDS: '0.5' });
      crm.faults.tokenEndpoint = fault;
      try {
        const res = await fetch(`${proxy.url}/Api/V8/current-user`);
        assertProxyError(res, (await res.json()) as { errors: Array<Record<string, string>> }, 503, 'TOKEN_UNAVAILABLE');
        assert.ok(Number(res.headers.get('retry-after')) >= 1);
        crm.faults.tokenEndpoint = 'ok';
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          status = (await fetch(`${proxy.url}/Api/V8/current-user`)).status;
        }
        assert.equal(status, 200, 'recovers by itself once the fault is lifted');
      } finally {
        crm.faults.tokenEndpoint = 'ok';
        await proxy.close();
      }
    });
  }

  test('a slow token endpoint times out into TOKEN_UNAVAILABLE instead of hanging', async () => {
    const proxy = await startProxy(crm.url, { TOKEN_REQUEST_TIMEOUT_SECONDS: '0.3' });
    crm.faults.tokenEndpoint = 'slow';
    crm.faults.tokenDelayMs = 3000;
    try {
      const res = await fetch(`${proxy.url}/Api/V8/current-user`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('x-suitecrm-proxy-error'), 'TOKEN_UNAVAILABLE');
    } finally {
      crm.faults.tokenEndpoint = 'ok';
      crm.faults.tokenDelayMs = 0;
      await proxy.close();
    }
  });

  test('a token endpoint that is down: TOKEN_UNAVAILABLE; the API down: 502 UPSTREAM_UNREACHABLE', async () => {
    const proxy = await startProxy(crm.url, { TOKEN_RETRY_MAX_SECONDS: '0.2' });
    try {
      await crm.stop();
      const res = await fetch(`${proxy.url}/Api/V8/current-user`);
      assertProxyError(res, (await res.json()) as { errors: Array<Record<string, string>> }, 503, 'TOKEN_UNAVAILABLE');
      await crm.start();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      await crm.stop();
      const down = await fetch(`${proxy.url}/Api/V8/current-user`);
      assertProxyError(down, (await down.json()) as { errors: Array<Record<string, string>> }, 502, 'UPSTREAM_UNREACHABLE');
    } finally {
      await crm.start();
      await proxy.close();
    }
  });

  test('an upstream that does not answer: 504 UPSTREAM_TIMEOUT', async () => {
    const proxy = await startProxy(crm.url, { UPSTREAM_TIMEOUT_SECONDS: '0.3' });
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      crm.faults.api = 'hang';
      const res = await fetch(`${proxy.url}/Api/V8/current-user`);
      assertProxyError(res, (await res.json()) as { errors: Array<Record<string, string>> }, 504, 'UPSTREAM_TIMEOUT');
    } finally {
      crm.faults.api = 'ok';
      await proxy.close();
    }
  });

  test('missing expires_in: the token is used with a short assumed lifetime', async () => {
    const proxy = await startProxy(crm.url);
    crm.faults.tokenEndpoint = 'missing-expires-in';
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      const obtained = proxy.logEvents('token_obtained').at(-1)!;
      assert.equal(obtained.expiresInReported, false);
      assert.equal(obtained.expiresInSeconds, 300);
    } finally {
      crm.faults.tokenEndpoint = 'ok';
      await proxy.close();
    }
  });
});

describe('refresh ahead (fake clock)', () => {
  test('the token is renewed in the background; no request waits for it', async () => {
    const crm = await startFakeSuiteCrm();
    let clock = Date.now();
    const proxy = await startProxy(crm.url, {}, { now: () => clock });
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      const first = crm.requests.at(-1)!.tokenJti;
      clock += (3600 - 5 - 60 + 1) * 1000; // inside the refresh margin
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.requests.at(-1)!.tokenJti, first, 'the request that noticed the margin used the still-valid token');
      await waitFor(() => crm.grantsIssued() === 2, 'the background refresh');
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.notEqual(crm.requests.at(-1)!.tokenJti, first);
      const lines = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      assert.deepEqual(lines.map((l) => l.tokenWaited), [true, false, false]);
      // Past the end of its life a token is not used: the next request waits for a new one.
      clock += 3600 * 1000;
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.grantsIssued(), 3);
    } finally {
      await proxy.close();
      await crm.close();
    }
  });
});

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
