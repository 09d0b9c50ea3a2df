/**
 * When SuiteCRM's token endpoint (or its API) fails: rejected credentials, 5xx, garbage, resets,
 * timeouts and outages become the proxy's own JSON:API errors (fast, with Retry-After, secrets
 * never echoed), and the proxy recovers by itself once the fault is lifted.
 * The real app on 127.0.0.1 in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { JSONAPI } from '../support/jsonapi.js';
import { PW_ENV, startProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

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
        // A bounded poll while the retry backoff (TOKEN_RETRY_MAX_SECONDS) runs out; the assert
        // below names the failure if it never does.
        await until('a 200 once the fault is lifted', async () => {
          const next = await fetch(`${proxy.url}/Api/V8/current-user`);
          await next.arrayBuffer();
          status = next.status;
          return status === 200;
        }, 5000).catch(() => undefined);
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
      // Not a fixed 300 ms: poll until the retry backoff (TOKEN_RETRY_MAX_SECONDS) has run out.
      await until('a token once SuiteCRM is back', async () => {
        const next = await fetch(`${proxy.url}/Api/V8/current-user`);
        await next.arrayBuffer();
        return next.status === 200;
      }, 5000);
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
