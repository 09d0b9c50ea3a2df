/**
 * Property-based fuzzing (fast-check) of request targets, methods, header sets and bodies sent
 * over raw sockets to the real proxy in front of the SuiteCRM double. Whatever comes in:
 * - every request SuiteCRM receives is under an allowed prefix, with no dot segment however
 *   often it is decoded, never the token endpoint, carrying the proxy's token and no caller key
 *   or forwarding header;
 * - every request gets an answer (no hang) and the proxy keeps serving (no crash).
 * Bounded by a run count and a time budget so it stays fast in CI; the seed is printed on failure.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startFakeSuiteCrm, type FakeSuiteCrm, type RecordedRequest } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { climbsOut } from './path-oracle.js';
import { rawRequest } from './raw-http.js';

const KEY = 'fuzz-caller-key-3c4d5e6f7a8b';
const LIMITED_KEY = 'fuzz-limited-key-9a8b7c6d5e4f';
const ALLOWED_PREFIXES = ['/Api/', '/legacy/Api/'];
const TOKEN_PATHS = new Set(['/api/access_token', '/api/index.php/access_token', '/legacy/api/access_token', '/legacy/api/index.php/access_token']);
const RUNS = 300;
const TIME_BUDGET_MS = 12_000;

let crm: FakeSuiteCrm;
let proxy: RunningProxy;
let port: number;

before(async () => {
  crm = await startFakeSuiteCrm();
  proxy = await startProxy(crm.url, {
    LOG_LEVEL: 'warn',
    // A fuzzed request may declare more body than it sends: it must still get an answer (408), soon.
    PROXY_HEADERS_TIMEOUT_SECONDS: '1',
    PROXY_REQUEST_TIMEOUT_SECONDS: '2',
    PROXY_CLIENTS: JSON.stringify({ fuzz: { key: KEY }, limited: { key: LIMITED_KEY, methods: ['GET'], paths: ['/Api/V8/module/Accounts*'] } }),
  });
  port = Number(new URL(proxy.url).port);
});

after(async () => {
  await proxy.close();
  await crm.close();
});

/** Path pieces that matter to traversal, routing and decoding, plus ordinary ones. */
const SEGMENTS = [
  'Api', 'legacy', 'V8', 'module', 'Accounts', 'Contacts', 'meta', 'modules', 'custom', 'echo', 'access_token', 'index.php',
  '_proxy', 'healthz', '..', '.', '', '%2e%2e', '%2E.', '.%2e', '%252e%252e', '%25252e', '%2f', '%2F..', '%5c', '\\', '..\\',
  '%00', '%0d%0a', '%', '%zz', '%u002e', 'a%20b', ';', '..;', '%3f', '%23', '~', 'é', '*', '@evil', 'evil.example:80',
];
const PREFIXES = ['', '/', '//', 'http://evil.example', 'http://127.0.0.1:1', 'https://x', '*', '/Api/', '/legacy/Api/', '/Api/V8/', '\\\\'];
const QUERIES = ['', '?page[size]=1', '?a=..%2f..', '?_METHOD=DELETE', '?x=%00', '?#', '?q=' + 'a'.repeat(50)];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE'];

const BENIGN = ['V8', 'module', 'Accounts', 'Contacts', 'meta', 'modules', 'custom', 'echo', '1', 'relationships', 'a%20b', 'x.y'];

const hostileTargetArb = fc.tuple(fc.constantFrom(...PREFIXES), fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 7 }), fc.constantFrom('/', '\\', '%2f'), fc.constantFrom(...QUERIES))
  .map(([prefix, segments, separator, query]) => `${prefix}${segments.join(separator)}${query}`);
/** Mostly well-formed API paths with one hostile piece now and then, so many requests get through. */
const nearValidTargetArb = fc.tuple(
  fc.constantFrom('/Api/', '/legacy/Api/', '/Api/V8/', '/Api/index.php/'),
  fc.array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...BENIGN) }, { weight: 1, arbitrary: fc.constantFrom(...SEGMENTS) }), { minLength: 1, maxLength: 5 }),
  fc.constantFrom(...QUERIES),
).map(([prefix, segments, query]) => `${prefix}${segments.join('/')}${query}`);
const targetArb = fc.oneof(hostileTargetArb, nearValidTargetArb);

/** Header values: mostly printable, sometimes with bytes a parser must refuse. */
const valueArb = fc.oneof(
  { weight: 20, arbitrary: fc.stringMatching(/^[\x21-\x7e ]{0,40}$/) },
  { weight: 1, arbitrary: fc.constantFrom('a\rb', 'a\nb', 'a\x00b', ' leading', 'trailing ', '\u00e9\u00e8', '') },
);

/** How the caller presents (or fails to present) a key. */
const credentialArb = fc.constantFrom<[string, string][]>(
  [['X-Proxy-Key', KEY]], [['Authorization', `Bearer ${KEY}`]], [['X-Proxy-Key', LIMITED_KEY]], [['Authorization', `bearer ${LIMITED_KEY}`]],
  [['X-Proxy-Key', KEY], ['Authorization', 'Bearer caller-own-suitecrm-token']], [], [['X-Proxy-Key', 'wrong-key-00000000']],
);

const headerArb = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(
    'Host', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'Forwarded', 'X-Real-IP', 'X-Original-URL', 'X-Rewrite-URL',
    'X-HTTP-Method-Override', 'X-Method-Override', 'Connection', 'Keep-Alive', 'TE', 'Upgrade', 'Proxy-Authorization', 'Expect',
    'Content-Type', 'Cookie', 'Accept', 'Authorization', 'X-Proxy-Key',
  ), valueArb) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Transfer-Encoding', 'Content-Length'), fc.constantFrom('chunked', '0', '-1', 'gzip', 'chunked, chunked', '1e3', '', '99999999999999999999')) },
  { weight: 3, arbitrary: fc.tuple(fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/), valueArb) },
);

const bodyArb = fc.oneof(
  fc.constant(''),
  fc.constantFrom('_METHOD=DELETE', '{"_METHOD":"PUT"}', '{"data":{"type":"Accounts","attributes":{"name":"x"}}}', 'a=1&b=2'),
  fc.string({ maxLength: 200 }),
);

const requestArb = fc.record({
  method: fc.constantFrom(...METHODS),
  target: targetArb,
  credential: credentialArb,
  headers: fc.array(headerArb, { maxLength: 5 }),
  body: bodyArb,
  includeHost: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

type FuzzRequest = { method: string; target: string; credential: [string, string][]; headers: [string, string][]; body: string; includeHost: boolean };

function encode(r: FuzzRequest): string {
  const lines = [`${r.method} ${r.target} HTTP/1.1`];
  if (r.includeHost) lines.push('Host: proxy.local');
  for (const [name, value] of [...r.credential, ...r.headers]) lines.push(`${name}: ${value}`);
  const hasFraming = r.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name));
  const body = Buffer.from(r.body, 'utf8');
  if (!hasFraming && body.length > 0) lines.push(`Content-Length: ${body.length}`);
  // Connection: close ends the exchange after one response, whatever the framing turned out to be.
  lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n${hasFraming || body.length > 0 ? body.toString('latin1') : ''}`;
}

function assertSafeUpstream(seen: RecordedRequest): void {
  const path = seen.path.split('?', 1)[0] ?? '';
  assert.ok(ALLOWED_PREFIXES.some((p) => path.startsWith(p)), `upstream path outside the allowed prefixes: ${seen.path}`);
  assert.ok(!climbsOut(path), `upstream path with a dot segment: ${seen.path}`);
  assert.ok(!TOKEN_PATHS.has(path.toLowerCase().replace(/\/+$/, '')), `token endpoint reached: ${seen.path}`);
  const headers = JSON.stringify(seen.headers);
  assert.ok(!headers.includes(KEY) && !headers.includes(LIMITED_KEY), 'a caller key reached SuiteCRM');
  for (const name of Object.keys(seen.headers)) {
    assert.ok(!/^(x-proxy-key|x-forwarded-.*|forwarded|x-real-ip|x-original-url|x-rewrite-url|x-http-method-override|x-method-override|proxy-authorization|upgrade|te|keep-alive)$/.test(name), `forwarded header ${name}`);
  }
  assert.match(String(seen.headers.authorization), /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, 'the proxy token, not the caller header');
  assert.match(String(seen.headers.host), /^127\.0\.0\.1:\d+$/);
}

test('fuzzed targets, methods and headers: SuiteCRM only sees safe requests, the proxy always answers', async (t) => {
  // Warm up: the proxy's single grant, so later token requests could only come from callers.
  assert.equal((await rawRequest(port, `GET /Api/V8/module/Accounts HTTP/1.1\r\nHost: x\r\nX-Proxy-Key: ${KEY}\r\n\r\n`)).status, 200);
  const grantsAfterWarmUp = crm.tokenRequestCount();
  let runs = 0;
  let forwarded = 0;
  await fc.assert(
    fc.asyncProperty(requestArb, async (request) => {
      runs++;
      const before = crm.requests.length;
      const response = await rawRequest(port, encode(request), { timeoutMs: 10_000, head: request.method === 'HEAD' });
      assert.ok(response.status >= 200 && response.status < 600, `no answer (status ${response.status}) for ${JSON.stringify(request)}`);
      const received = crm.requests.slice(before);
      forwarded += received.length;
      for (const seen of received) assertSafeUpstream(seen);
      if (response.status >= 400 && response.headers['x-suitecrm-proxy-error'] !== undefined && request.method !== 'HEAD') {
        const doc = JSON.parse(response.body) as { errors: { status: string }[] };
        assert.equal(doc.errors[0]?.status, String(response.status), 'a JSON:API error document');
      }
    }),
    { numRuns: RUNS, interruptAfterTimeLimit: TIME_BUDGET_MS, endOnFailure: true },
  );
  assert.equal(crm.tokenRequestCount(), grantsAfterWarmUp, 'no caller request reached the token endpoint');
  assert.ok(runs >= 50, `only ${runs} runs fitted the time budget`);
  assert.ok(forwarded > 0, 'some fuzzed requests must be valid enough to be forwarded, or the property proves nothing');
  t.diagnostic(`${runs} fuzzed requests, ${forwarded} reached SuiteCRM`);
  const health = await fetch(`${proxy.url}/_proxy/healthz`);
  assert.equal(health.status, 200, 'the proxy still serves');
});

test('the target guard never throws and only passes paths without dot segments (direct, many more runs)', async () => {
  const { checkRequestTarget } = await import('../../src/security/request-guard.js');
  fc.assert(
    fc.property(fc.oneof(targetArb, fc.string({ maxLength: 300 }), fc.webPath()), (target) => {
      const verdict = checkRequestTarget(target, 8192);
      if (verdict.ok) {
        assert.ok(target.startsWith('/') && !target.startsWith('//'), target);
        assert.ok(!climbsOut(verdict.rawPath), `passed a climbing path: ${target}`);
        assert.ok(!verdict.rawPath.includes('\\'), target);
      }
    }),
    { numRuns: 5_000, interruptAfterTimeLimit: 5_000 },
  );
});
