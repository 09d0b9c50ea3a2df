/**
 * One test per attack (issue 4, points 2-5): each hostile request goes over a raw socket to the
 * real proxy in front of the SuiteCRM double, and the test asserts the exact status and error
 * code AND what the double received (or that it received nothing).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm, type RecordedRequest } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { rawRequest, type RawResponse } from './raw-http.js';

const ETL_KEY = 'etl-key-7f3a9c1e5b2d4f60';
const REPORTING_KEY = 'reporting-key-0a1b2c3d4e5f';
const SMALL_KEY = 'small-body-key-99887766';
const CLIENTS = JSON.stringify([
  { name: 'etl', key: ETL_KEY },
  { name: 'reporting', key: REPORTING_KEY, methods: ['GET'], paths: ['/Api/V8/module/Accounts*'] },
  { name: 'small', key: SMALL_KEY, bodyLimitBytes: 1000 },
]);

/** Upstream expectation: nothing reached SuiteCRM, or this one recorded request did. */
type Upstream = 'none' | ((seen: RecordedRequest) => void);

interface Case {
  readonly name: string;
  /** The raw request; `{port}` is replaced by the double's port. */
  readonly request: string | string[];
  readonly status: number;
  /** x-suitecrm-proxy-error, or undefined when SuiteCRM answered. */
  readonly code: string | undefined;
  readonly upstream: Upstream;
}

const get = (target: string, headers = `X-Proxy-Key: ${ETL_KEY}\r\n`): string => `GET ${target} HTTP/1.1\r\nHost: proxy.local\r\n${headers}\r\n`;
const post = (target: string, contentType: string, body: string, key = ETL_KEY): string =>
  `POST ${target} HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${key}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const chunked = (size: number): string => `${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`;

function noCallerSecrets(seen: RecordedRequest): void {
  const text = JSON.stringify(seen.headers);
  for (const key of [ETL_KEY, REPORTING_KEY, SMALL_KEY]) assert.ok(!text.includes(key), 'a caller key reached SuiteCRM');
  assert.equal(seen.headers['x-proxy-key'], undefined);
  assert.match(String(seen.headers.authorization), /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, 'the proxy token was injected');
}

const CASES: Case[] = [
  {
    name: 'baseline: a key in X-Proxy-Key is accepted, stripped, replaced by the SuiteCRM token',
    request: get('/Api/V8/module/Accounts?page[size]=2'), status: 200, code: undefined,
    upstream: (seen) => {
      assert.equal(seen.path, '/Api/V8/module/Accounts?page[size]=2');
      noCallerSecrets(seen);
    },
  },
  {
    name: 'a key in Authorization: Bearer is accepted and never forwarded',
    request: get('/Api/V8/module/Accounts', `Authorization: Bearer ${ETL_KEY}\r\n`), status: 200, code: undefined,
    upstream: noCallerSecrets,
  },
  { name: 'no key: 401', request: get('/Api/V8/module/Accounts', ''), status: 401, code: 'UNAUTHENTICATED', upstream: 'none' },
  { name: 'wrong key: 401', request: get('/Api/V8/module/Accounts', 'X-Proxy-Key: not-a-valid-key-000000\r\n'), status: 401, code: 'UNAUTHENTICATED', upstream: 'none' },
  { name: 'a Basic Authorization header is not a key: 401', request: get('/Api/V8/module/Accounts', `Authorization: Basic ${Buffer.from(`x:${ETL_KEY}`).toString('base64')}\r\n`), status: 401, code: 'UNAUTHENTICATED', upstream: 'none' },
  { name: 'absolute-form target naming SuiteCRM itself', request: get('http://127.0.0.1:{port}/Api/V8/module/Accounts'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'absolute-form target naming another host (open proxy)', request: get('http://evil.example/Api/V8/module/Accounts'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'asterisk-form target', request: `OPTIONS * HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\n\r\n`, status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: '//host path', request: get('//evil.example/Api/V8/module/Accounts'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'plain .. segments out of /Api/', request: get('/Api/V8/../../index.php?module=Users'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'encoded .. segments', request: get('/Api/V8/%2e%2e/%2E%2E/index.php'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'mixed-encoded .. segment', request: get('/Api/V8/.%2e/.%2e/index.php'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'double-encoded .. segments', request: get('/Api/V8/%252e%252e/%252e%252e/index.php'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'encoded slash hiding ..', request: get('/Api/V8/..%2f..%2findex.php'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'backslashes', request: get('/Api/V8\\..\\..\\index.php'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'encoded backslash', request: get('/Api/V8/..%5c..%5cindex.php'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'empty segment reaching the token endpoint (/Api//access_token)', request: get('/Api//access_token'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'encoded NUL', request: get('/Api/V8/module/Accounts%00.php'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'raw NUL byte (Node refuses it)', request: get('/Api/V8/module/Acc\x00ounts'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'encoded CR LF (header injection)', request: get('/Api/V8/module/Accounts%0d%0aX-Injected:%201'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'over-long URL (> PROXY_MAX_URL_BYTES)', request: get(`/Api/V8/module/Accounts?q=${'a'.repeat(9000)}`), status: 414, code: 'URI_TOO_LONG', upstream: 'none' },
  { name: 'over-long headers (> PROXY_MAX_HEADER_BYTES)', request: get('/Api/V8/module/Accounts', `X-Proxy-Key: ${ETL_KEY}\r\nX-Big: ${'b'.repeat(17_000)}\r\n`), status: 431, code: 'HEADERS_TOO_LARGE', upstream: 'none' },
  {
    name: 'Content-Length with Transfer-Encoding (request smuggling)',
    request: `POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /Api/V8/module/Accounts HTTP/1.1\r\nHost: x\r\n\r\n`,
    status: 400, code: 'BAD_REQUEST', upstream: 'none',
  },
  {
    name: 'two conflicting Content-Length headers',
    request: `POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello`,
    status: 400, code: 'BAD_REQUEST', upstream: 'none',
  },
  {
    name: 'two equal Content-Length headers',
    request: `POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
    status: 400, code: 'BAD_REQUEST', upstream: 'none',
  },
  {
    name: 'Transfer-Encoding other than chunked',
    request: `POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n`,
    status: 400, code: 'BAD_REQUEST', upstream: 'none',
  },
  {
    name: 'space before the colon of Content-Length',
    request: `POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\nContent-Length : 5\r\n\r\nhello`,
    status: 400, code: 'BAD_REQUEST', upstream: 'none',
  },
  {
    name: 'X-HTTP-Method-Override and friends are stripped; the real method is proxied',
    request: get('/Api/V8/custom/echo', `X-Proxy-Key: ${ETL_KEY}\r\nX-HTTP-Method-Override: DELETE\r\nX-HTTP-Method: DELETE\r\nX-Method-Override: DELETE\r\n`),
    status: 200, code: undefined,
    upstream: (seen) => {
      assert.equal(seen.method, 'GET');
      for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override']) assert.equal(seen.headers[name], undefined, name);
    },
  },
  { name: '_METHOD in a form body', request: post('/Api/V8/module', 'application/x-www-form-urlencoded', 'name=a&_METHOD=DELETE'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: '_METHOD disguised as .METHOD (PHP turns . into _)', request: post('/Api/V8/module', 'application/x-www-form-urlencoded', '.METHOD=DELETE'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: '_METHOD in a JSON body', request: post('/Api/V8/module', 'application/vnd.api+json', '{"_METHOD":"DELETE","data":{}}'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  {
    name: '_METHOD in a multipart body',
    request: post('/Api/V8/module', 'multipart/form-data; boundary=B', '--B\r\nContent-Disposition: form-data; name="_METHOD"\r\n\r\nDELETE\r\n--B--\r\n'),
    status: 400, code: 'BAD_REQUEST', upstream: 'none',
  },
  {
    name: 'a JSON body without _METHOD is forwarded byte for byte',
    request: post('/Api/V8/custom/echo', 'application/vnd.api+json', '{"data":{"attributes":{"_METHOD_note":"fine"}}}'),
    status: 200, code: undefined,
    upstream: (seen) => assert.equal(seen.bodyLength, Buffer.byteLength('{"data":{"attributes":{"_METHOD_note":"fine"}}}')),
  },
  {
    name: 'hop-by-hop headers (and those named in Connection) are dropped',
    request: get('/Api/V8/custom/echo', `X-Proxy-Key: ${ETL_KEY}\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n`),
    status: 200, code: undefined,
    upstream: (seen) => {
      for (const name of ['x-hop', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-connection']) assert.equal(seen.headers[name], undefined, name);
      assert.equal(seen.headers['x-kept'], 'yes', 'ordinary headers pass');
    },
  },
  {
    name: 'Host, Forwarded and X-Forwarded-* spoofing never reaches SuiteCRM',
    request: get('/Api/V8/custom/echo', `X-Proxy-Key: ${ETL_KEY}\r\nX-Forwarded-For: 10.6.6.6\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Prefix: /admin\r\nForwarded: for=10.6.6.6;host=evil.example\r\nX-Real-IP: 10.6.6.6\r\nX-Original-URL: /index.php?module=Users\r\nX-Rewrite-URL: /index.php\r\n`).replace('Host: proxy.local', 'Host: evil.example'),
    status: 200, code: undefined,
    upstream: (seen) => {
      assert.match(String(seen.headers.host), /^127\.0\.0\.1:\d+$/, 'Host is SuiteCRM\'s own');
      for (const name of ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix', 'forwarded', 'x-real-ip', 'x-original-url', 'x-rewrite-url']) {
        assert.equal(seen.headers[name], undefined, name);
      }
      assert.ok(!JSON.stringify(seen.headers).includes('10.6.6.6'));
    },
  },
  { name: 'SuiteCRM web UI (outside the allowed prefixes)', request: get('/index.php?module=Users&action=index'), status: 403, code: 'FORBIDDEN', upstream: 'none' },
  { name: 'SuiteCRM 8 legacy web UI', request: get('/legacy/index.php'), status: 403, code: 'FORBIDDEN', upstream: 'none' },
  { name: 'lower-case /api/ is not the allowed /Api/', request: get('/api/v8/module/Accounts'), status: 403, code: 'FORBIDDEN', upstream: 'none' },
  // Issue 8: the proxy answers the token endpoint itself, in SuiteCRM's dialect, for its callers' own
  // OAuth credentials only; SuiteCRM's client (cc-client) is unknown here, and nothing is forwarded.
  { name: 'the token endpoint (answered locally, SuiteCRM\'s client unknown)', request: post('/Api/access_token', 'application/x-www-form-urlencoded', 'grant_type=client_credentials&client_id=cc-client&client_secret=guess'), status: 500, code: undefined, upstream: 'none' },
  { name: 'the token endpoint without rewrites (SuiteCRM 8, answered locally)', request: post('/legacy/Api/index.php/access_token', 'application/json', '{"grant_type":"client_credentials"}'), status: 400, code: undefined, upstream: 'none' },
  { name: 'a caller rule: reporting may not DELETE', request: `DELETE /Api/V8/module/Accounts/1 HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${REPORTING_KEY}\r\n\r\n`, status: 403, code: 'FORBIDDEN', upstream: 'none' },
  { name: 'a caller rule: reporting may not read Contacts', request: get('/Api/V8/module/Contacts', `X-Proxy-Key: ${REPORTING_KEY}\r\n`), status: 403, code: 'FORBIDDEN', upstream: 'none' },
  { name: 'a caller rule: reporting may read Accounts', request: get('/Api/V8/module/Accounts', `X-Proxy-Key: ${REPORTING_KEY}\r\n`), status: 200, code: undefined, upstream: noCallerSecrets },
  { name: '/_proxy/.. cannot reach the API', request: get('/_proxy/../Api/V8/module/Accounts'), status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  // Regression (found by the fuzz test): /_proxy without a slash is the catch-all route, not an admin endpoint.
  { name: '/_proxy without a key is not an admin endpoint', request: get('/_proxy?a=1', ''), status: 401, code: 'UNAUTHENTICATED', upstream: 'none' },
  { name: '/_proxy is outside the allowed prefixes', request: get('/_proxy'), status: 403, code: 'FORBIDDEN', upstream: 'none' },
  { name: '/_proxy/ endpoints need no key and are never forwarded', request: get('/_proxy/nothing-here', ''), status: 404, code: 'NOT_FOUND', upstream: 'none' },
  { name: 'CONNECT (forward-proxy tunnel)', request: `CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Proxy-Key: ${ETL_KEY}\r\n\r\n`, status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'TRACE is not proxied', request: `TRACE /Api/V8/module/Accounts HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\n\r\n`, status: 404, code: 'NOT_FOUND', upstream: 'none' },
  { name: 'HTTP/1.1 without Host', request: `GET /Api/V8/module/Accounts HTTP/1.1\r\nX-Proxy-Key: ${ETL_KEY}\r\n\r\n`, status: 400, code: 'BAD_REQUEST', upstream: 'none' },
  { name: 'declared body over the caller limit', request: post('/Api/V8/custom/echo', 'application/octet-stream', 'z'.repeat(1001), SMALL_KEY), status: 413, code: 'PAYLOAD_TOO_LARGE', upstream: 'none' },
  {
    name: 'chunked body growing over the caller limit',
    request: [`POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${SMALL_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked(600), chunked(600), '0\r\n\r\n'],
    status: 413, code: 'PAYLOAD_TOO_LARGE', upstream: 'none',
  },
  {
    name: 'chunked body within the caller limit is forwarded whole',
    request: [`POST /Api/V8/custom/echo HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${SMALL_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked(400), chunked(400), '0\r\n\r\n'],
    status: 200, code: undefined,
    upstream: (seen) => {
      assert.equal(seen.bodyLength, 800);
      assert.equal(seen.headers['transfer-encoding'] === undefined || seen.headers['transfer-encoding'] === 'chunked', true);
    },
  },
  {
    name: 'a redirect from SuiteCRM is passed back, never followed with the token',
    request: get('/Api/V8/custom/redirect'), status: 302, code: undefined,
    upstream: (seen) => assert.equal(seen.path, '/Api/V8/custom/redirect'),
  },
];

/** A SuiteCRM double and the proxy in front of it for one describe block; `port` is the proxy's. */
function servers(env: Record<string, string>): { crm: FakeSuiteCrm; proxy: RunningProxy; port: number } {
  const state = {} as { crm: FakeSuiteCrm; proxy: RunningProxy; port: number };
  before(async () => {
    state.crm = await startFakeSuiteCrm();
    state.proxy = await startProxy(state.crm.url, env);
    state.port = Number(new URL(state.proxy.url).port);
  });
  after(async () => {
    await state.proxy.close();
    await state.crm.close();
  });
  return state;
}

describe('hostile input over raw sockets', () => {
  const s = servers({ PROXY_CLIENTS: CLIENTS, LOG_LEVEL: 'info' });

  for (const c of CASES) {
    test(c.name, async () => {
      const before = s.crm.requests.length;
      const tokenRequestsBefore = s.crm.tokenRequests.length;
      const parts = (Array.isArray(c.request) ? c.request : [c.request]).map((p) => p.replaceAll('{port}', String(s.crm.port)));
      const res: RawResponse = await rawRequest(s.port, parts, { partDelayMs: parts.length > 1 ? 20 : 0 });
      assert.equal(res.status, c.status, `status (body: ${res.body.slice(0, 300)})`);
      assert.equal(res.headers['x-suitecrm-proxy-error'], c.code, 'proxy error code');
      if (c.code !== undefined) {
        assert.match(res.headers['content-type'] ?? '', /^application\/vnd\.api\+json/);
        const doc = JSON.parse(res.body) as { errors: { status: string; code: string; detail: string }[] };
        assert.equal(doc.errors[0]?.code, c.code);
        assert.equal(doc.errors[0]?.status, String(c.status));
      }
      const received = s.crm.requests.slice(before);
      if (c.upstream === 'none') {
        assert.deepEqual(received.map((r) => `${r.method} ${r.path}`), [], 'nothing reached SuiteCRM');
      } else {
        assert.equal(received.length, 1, 'exactly one request reached SuiteCRM');
        c.upstream(received[0]!);
      }
      // Callers never reach the token endpoint; the proxy's own grants are the only token requests.
      assert.ok(s.crm.tokenRequests.slice(tokenRequestsBefore).every((t) => t.body.client_secret === '***'));
      assert.equal(s.crm.tokenRequests.filter((t) => t.body.client_secret === 'guess').length, 0);
    });
  }

  test('the request log names the caller; a refusal names the rule in the log, not in the body', async () => {
    const res = await rawRequest(s.port, get('/Api/V8/module/Contacts', `X-Proxy-Key: ${REPORTING_KEY}\r\n`));
    assert.equal(res.status, 403);
    assert.ok(!res.body.includes('allow rules') && !res.body.includes('Accounts'), 'the body does not reveal the rule');
    const refusal = s.proxy.logEvents('forbidden').at(-1);
    assert.equal(refusal?.caller, 'reporting');
    assert.equal(refusal?.rule, 'caller reporting allow rules [GET /Api/V8/module/Accounts*]');
    const lines = s.proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    assert.ok(lines.some((l) => l.caller === 'etl' && l.status === 200));
    assert.ok(lines.some((l) => l.caller === 'reporting' && l.status === 403));
  });

  test('a failed authentication is logged with the address and reason, never the key', async () => {
    const wrong = 'wrong-key-that-must-not-be-logged';
    await rawRequest(s.port, get('/Api/V8/module/Accounts', `Authorization: Bearer ${wrong}\r\n`));
    const failure = s.proxy.logEvents('auth_failed').at(-1);
    assert.equal(failure?.reason, 'unknown key');
    assert.equal(failure?.remoteAddress, '127.0.0.1');
    assert.ok(!s.proxy.logs.some((l) => l.includes(wrong) || l.includes(ETL_KEY)));
  });

  test('the proxy still serves after every attack above', async () => {
    const res = await rawRequest(s.port, get('/Api/V8/module/Accounts'));
    assert.equal(res.status, 200);
  });
});

describe('aborted bodies Fastify never reads', () => {
  // Regression (found by the fuzz test): a GET/HEAD body is never read by Fastify; when such a chunked
  // body broke off, the per-caller body limiter raised an error nobody listened to, and the process died.
  // Its own servers: the bodiless HEAD may still reach SuiteCRM a moment later, which must not disturb other tests.
  const s = servers({ PROXY_CLIENTS: CLIENTS });

  test('HEAD and GET with a malformed chunked body get 400 and the proxy keeps serving', async () => {
        for (const method of ['HEAD', 'GET']) {
      const res = await rawRequest(s.port, `${method} /Api/V8/custom/echo HTTP/1.1\r\nHost: s.proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\nTransfer-Encoding: chunked\r\n\r\na=1&b=2`);
      assert.equal(res.status, 400, method);
      assert.equal(res.headers['x-suitecrm-proxy-error'], 'BAD_REQUEST');
    }
    assert.equal((await fetch(`${s.proxy.url}/_proxy/healthz`)).status, 200);
    assert.equal((await rawRequest(s.port, get('/Api/V8/module/Accounts'))).status, 200);
    for (const seen of s.crm.requests) assert.equal(seen.bodyLength, 0, 'no part of the broken body reached SuiteCRM');
  });
});

describe('_METHOD in bodies too large to buffer', () => {
  // A small replay buffer, so a few kilobytes already stream.
  const s = servers({ PROXY_CLIENTS: CLIENTS, REPLAY_BODY_LIMIT_BYTES: '1024' });

  const filler = 'name=' + 'n'.repeat(4000);

  test('a declared-length form body with _METHOD is cut off: 400, SuiteCRM never gets the whole body', async () => {
    const body = `${filler}&_METHOD=DELETE`;
    const res = await rawRequest(s.port, post('/Api/V8/custom/echo', 'application/x-www-form-urlencoded', body));
    assert.equal(res.status, 400);
    assert.equal(res.headers['x-suitecrm-proxy-error'], 'BAD_REQUEST');
    assert.match(res.body, /_METHOD/);
    assert.ok(!s.crm.requests.some((r) => r.applied && r.bodyLength === body.length), 'no complete request reached SuiteCRM');
  });

  test('a chunked JSON body with an escaped _METHOD is refused before anything is forwarded', async () => {
    const before = s.crm.requests.length;
    const head = `POST /Api/V8/module HTTP/1.1\r\nHost: s.proxy.local\r\nX-Proxy-Key: ${ETL_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const json = `{"\\u005fMETHOD":"DELETE","pad":"${'p'.repeat(3000)}"}`;
    const res = await rawRequest(s.port, [head, `${json.length.toString(16)}\r\n${json}\r\n`, '0\r\n\r\n'], { partDelayMs: 20 });
    assert.equal(res.status, 400);
    assert.equal(s.crm.requests.length, before, 'nothing reached SuiteCRM');
  });

  test('large bodies without _METHOD stream through untouched', async () => {
    const before = s.crm.requests.length;
    const json = JSON.stringify({ data: { type: 'Notes', attributes: { description: 'payment_method '.repeat(300) } } });
    const res = await rawRequest(s.port, post('/Api/V8/custom/echo', 'application/vnd.api+json', json));
    assert.equal(res.status, 200);
    const seen = s.crm.requests.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.bodyLength, json.length);
  });
});
