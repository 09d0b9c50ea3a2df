/**
 * Per-caller rate limits (token bucket on a fake clock), the global switches (read-only,
 * prefixes, token endpoint, unauthenticated modes) and slowloris timeouts, end to end against
 * the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { rawRequest } from './raw-http.js';

const LIMITED_KEY = 'limited-key-5e6f7a8b9c0d';
const FREE_KEY = 'free-key-1a2b3c4d5e6f7a8b';

describe('per-caller rate limits', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;
  let clock = Date.now();
  before(async () => {
    crm = await startFakeSuiteCrm();
    proxy = await startProxy(crm.url, {
      PROXY_CLIENTS: JSON.stringify({ limited: { key: LIMITED_KEY, rateLimit: { perSecond: 0.01, burst: 2 } }, free: { key: FREE_KEY } }),
    }, { now: () => clock });
  });
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  const call = (key: string): Promise<Response> => fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': key } });

  test('a burst passes, the next request gets 429 with Retry-After and nothing reaches SuiteCRM', async () => {
    const before = crm.requests.length;
    assert.equal((await call(LIMITED_KEY)).status, 200);
    assert.equal((await call(LIMITED_KEY)).status, 200);
    const refused = await call(LIMITED_KEY);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('x-suitecrm-proxy-error'), 'RATE_LIMITED');
    // 0.01 per second: the next token is 100 s away.
    assert.equal(refused.headers.get('retry-after'), '100');
    const doc = (await refused.json()) as { errors: { code: string; status: string }[] };
    assert.deepEqual([doc.errors[0]?.code, doc.errors[0]?.status], ['RATE_LIMITED', '429']);
    assert.equal(crm.requests.length - before, 2);
    assert.equal(proxy.logEvents('rate_limited').at(-1)?.caller, 'limited');
  });

  test('other callers are not affected by one caller running over', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await call(FREE_KEY)).status, 200);
  });

  test('the bucket refills at the caller\'s rate (fake clock)', async () => {
    assert.equal((await call(LIMITED_KEY)).status, 429);
    clock += 99_000;
    assert.equal((await call(LIMITED_KEY)).status, 429);
    clock += 1_000;
    assert.equal((await call(LIMITED_KEY)).status, 200);
    assert.equal((await call(LIMITED_KEY)).status, 429);
  });

  test('health endpoints are never rate limited', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${proxy.url}/_proxy/healthz`)).status, 200);
  });
});

describe('global switches', () => {
  let crm: FakeSuiteCrm;
  before(async () => {
    crm = await startFakeSuiteCrm();
  });
  after(async () => {
    await crm.close();
  });

  async function withProxy(env: Record<string, string>, body: (proxy: RunningProxy) => Promise<void>): Promise<void> {
    const proxy = await startProxy(crm.url, env);
    try {
      await body(proxy);
    } finally {
      await proxy.close();
    }
  }

  test('PROXY_READ_ONLY forwards GET, HEAD and OPTIONS only', async () => {
    await withProxy({ PROXY_READ_ONLY: 'true' }, async (proxy) => {
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`, { method: 'HEAD' })).status, 200);
      const before = crm.requests.length;
      for (const method of ['POST', 'PATCH', 'DELETE', 'PUT']) {
        const res = await fetch(`${proxy.url}/Api/V8/module`, { method, headers: { 'content-type': 'application/vnd.api+json' }, body: '{"data":{}}' });
        assert.equal(res.status, 403, method);
        assert.equal(res.headers.get('x-suitecrm-proxy-error'), 'FORBIDDEN');
      }
      assert.equal(crm.requests.length, before, 'no write reached SuiteCRM');
      assert.equal(proxy.logEvents('forbidden').at(-1)?.rule, 'PROXY_READ_ONLY');
    });
  });

  test('PROXY_ALLOWED_PATH_PREFIXES narrows what is forwarded', async () => {
    await withProxy({ PROXY_ALLOWED_PATH_PREFIXES: '/Api/V8/module/' }, async (proxy) => {
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
      const before = crm.requests.length;
      assert.equal((await fetch(`${proxy.url}/Api/V8/meta/modules`)).status, 403);
      assert.equal(crm.requests.length, before);
    });
  });

  test('PROXY_FORWARD_TOKEN_ENDPOINT=true lets token requests through to SuiteCRM', async () => {
    await withProxy({ PROXY_FORWARD_TOKEN_ENDPOINT: 'true' }, async (proxy) => {
      // The proxy's own grant first, so the count below is the caller's request alone.
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
      const before = crm.tokenRequestCount();
      const res = await fetch(`${proxy.url}/Api/access_token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=cc-client&client_secret=cc-secret-S3cr3t!',
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-suitecrm-proxy-error'), null);
      assert.equal(crm.tokenRequestCount() - before, 1);
    });
  });

  test('without PROXY_CLIENTS every request is the caller "anonymous"', async () => {
    await withProxy({}, async (proxy) => {
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
      const line = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
      assert.equal(line?.caller, 'anonymous');
    });
  });

  test('PROXY_RATE_LIMIT_PER_SECOND limits callers without their own limit, anonymous included', async () => {
    await withProxy({ PROXY_RATE_LIMIT_PER_SECOND: '0.01', PROXY_RATE_LIMIT_BURST: '1' }, async (proxy) => {
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
      const res = await fetch(`${proxy.url}/Api/V8/module/Accounts`);
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    });
  });

  test('PROXY_ALLOW_UNAUTHENTICATED on a non-loopback host starts with a warning', async () => {
    // The harness always listens on 127.0.0.1; PROXY_HOST only feeds the start-up checks here.
    await withProxy({ PROXY_HOST: '0.0.0.0', PROXY_ALLOW_UNAUTHENTICATED: 'true' }, async (proxy) => {
      const warning = proxy.logEvents('unauthenticated_listener');
      assert.equal(warning.length, 1);
      assert.match(String(warning[0]?.msg), /PROXY_CLIENTS/);
    });
  });

  test('PROXY_CLIENTS with PROXY_ALLOW_UNAUTHENTICATED: no key is anonymous, a wrong key is still 401', async () => {
    await withProxy({ PROXY_CLIENTS: JSON.stringify({ free: { key: FREE_KEY } }), PROXY_ALLOW_UNAUTHENTICATED: 'true' }, async (proxy) => {
      assert.equal(proxy.logEvents('unauthenticated_callers').length, 1);
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': 'wrong-key-0000000000' } })).status, 401);
      assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': FREE_KEY } })).status, 200);
      const lines = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      assert.deepEqual(lines.map((l) => [l.status, l.caller]), [[200, 'anonymous'], [401, ''], [200, 'free']], 'no caller is named for a failed key');
    });
  });

  test('slowloris: headers or a body sent too slowly get 408 and never reach SuiteCRM', async () => {
    await withProxy({ PROXY_HEADERS_TIMEOUT_SECONDS: '1', PROXY_REQUEST_TIMEOUT_SECONDS: '2' }, async (proxy) => {
      const port = Number(new URL(proxy.url).port);
      const before = crm.requests.length;
      // A header line every 300 ms, for far longer than the 1 s headers timeout.
      const drip = ['GET /Api/V8/module/Accounts HTTP/1.1\r\n', 'Host: proxy.local\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Drip-${i}: 1\r\n`), '\r\n'];
      const slowHeaders = await rawRequest(port, drip, { partDelayMs: 300, timeoutMs: 30_000 });
      assert.equal(slowHeaders.status, 408);
      assert.equal(slowHeaders.headers['x-suitecrm-proxy-error'], 'REQUEST_TIMEOUT');
      assert.equal(slowHeaders.headers.connection, 'close');
      // Complete headers, then a body byte every 300 ms, past the 2 s request timeout.
      const body = ['POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nContent-Length: 40\r\n\r\n', ...Array.from({ length: 40 }, () => 'b')];
      const slowBody = await rawRequest(port, body, { partDelayMs: 300, timeoutMs: 30_000 });
      assert.equal(slowBody.status, 408);
      assert.equal(crm.requests.length, before, 'nothing reached SuiteCRM');
    });
  });
});

describe('the caller in metrics', () => {
  test('requests_total is split by caller; unidentified requests count as "-"', async (t) => {
    const crm = await startFakeSuiteCrm();
    t.after(() => crm.close());
    const proxy = await startProxy(crm.url, { PROXY_CLIENTS: JSON.stringify({ limited: { key: LIMITED_KEY, methods: ['GET'] }, free: { key: FREE_KEY } }) });
    t.after(() => proxy.close());
    const get = (headers: Record<string, string>): Promise<number> => fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers }).then((r) => r.status);
    assert.equal(await get({ 'x-proxy-key': LIMITED_KEY }), 200);
    assert.equal(await get({ authorization: `Bearer ${FREE_KEY}` }), 200);
    assert.equal(await get({ authorization: `Bearer ${FREE_KEY}` }), 200);
    assert.equal(await get({}), 401);
    const text = await (await fetch(`${proxy.url}/_proxy/metrics`)).text();
    const count = (caller: string, statusClass: string): number => Number(new RegExp(`^suitecrm_proxy_requests_total\\{method="GET",status_class="${statusClass}",caller="${caller}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    assert.equal(count('limited', '2xx'), 1);
    assert.equal(count('free', '2xx'), 2);
    assert.equal(count('-', '4xx'), 1);
    assert.ok(!text.includes(LIMITED_KEY) && !text.includes(FREE_KEY), 'no key in metrics');
  });
});
