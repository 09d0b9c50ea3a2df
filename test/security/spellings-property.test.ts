/**
 * Property-based (fast-check): no spelling escapes a rule. Generated targets mix every spelling of
 * the API prefix (and near misses: other cases, a doubled /legacy), dot segments, doubled slashes,
 * trailing slashes and percent-encodings (single, lower case, double) of any character. Whatever
 * the proxy lets through, an oracle that knows nothing of its code (decode as SuiteCRM does, look
 * at what is left after the API base) finds inside the API, inside the caller's rule, and never at
 * SuiteCRM's token endpoint or logout. First the pure functions, many runs; then the real proxy in
 * front of the SuiteCRM 8 double, where the double's own routing is the judge.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { canonicalRequestPath } from '../../src/security/canonical-path.js';
import { upstreamPath } from '../../src/proxy/upstream-path.js';
import { AccessPolicy, compileCaller } from '../../src/security/rules.js';
import { parseClients } from '../../src/config/callers.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { climbsOut } from './path-oracle.js';
import { rawRequest } from './raw-http.js';

const PREFIXES = ['/Api', '/legacy/Api', '/Api/index.php', '/legacy/Api/index.php', '/api', '/LEGACY/Api', '/legacy/legacy/Api', '/Api/Index.php', '/legacy', ''];
const SEGMENTS = ['V8', 'module', 'Accounts', 'Contacts', 'access_token', 'logout', 'meta', 'index.php', 'legacy', 'Api', '.', '..', '', 'Accounts.', 'ACCESS_TOKEN', 'x;y'];
const QUERIES = ['', '?page[size]=1', '?a=..%2f..', '?x=/legacy/legacy/'];

/** Percent-encodes some characters of the path: upper or lower case hex, or twice. */
function encode(path: string, modes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i]!;
    const hex = char.charCodeAt(0).toString(16).padStart(2, '0');
    const mode = modes[i % modes.length] ?? 0;
    out += mode === 7 ? `%${hex.toUpperCase()}` : mode === 8 ? `%${hex}` : mode === 9 ? `%25${hex}` : char;
  }
  return out;
}

const hostileArb = fc.tuple(
  fc.constantFrom(...PREFIXES),
  fc.array(fc.tuple(fc.constantFrom('/', '/', '/', '//'), fc.constantFrom(...SEGMENTS)), { maxLength: 6 }),
  fc.constantFrom('', '/'),
).map(([prefix, parts, trailing]) => `${prefix}${parts.map(([sep, seg]) => sep + seg).join('')}${trailing}`);
/** Mostly valid spellings of the rule's own paths, so many targets are allowed and the property is not vacuous. */
const nearValidArb = fc.tuple(
  fc.constantFrom('/Api', '/legacy/Api', '/Api/index.php', '/legacy/Api/index.php'),
  fc.constantFrom('/V8/module/Accounts', '/V8/module/Contacts', '/V8/module/Accounts/1', '/access_token', '/V8/logout', '/V8/meta/modules'),
  fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 2 }),
).map(([prefix, rest, extra]) => `${prefix}${rest}${extra.map((s) => `/${s}`).join('')}`);
const targetArb = fc.tuple(
  fc.oneof(hostileArb, nearValidArb),
  fc.array(fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 7, max: 9 }) }), { minLength: 1, maxLength: 64 }),
  fc.constantFrom(...QUERIES),
).map(([path, modes, query]) => encode(path, modes) + query);

/** What SuiteCRM sees after its API base (decoded once), or undefined when the path is not under the base at all. */
function afterBase(upstream: string, apiBase: string): string | undefined {
  const decoded = decodeURIComponent(upstream.split('?', 1)[0] ?? '');
  return decoded.startsWith(`${apiBase}/`) ? decoded.slice(apiBase.length) : undefined;
}

const isOwnEndpoint = (rest: string): boolean => /^\/(access_token|v8\/logout)\/*$/i.test(rest.split(';', 1)[0] ?? '');

const [READER] = parseClients(JSON.stringify([{ name: 'reader', key: 'reader-key-0123456789abcdef', methods: ['GET'], paths: ['/legacy/Api/V8/module/Accounts*'] }]), () => '');
const reader = compileCaller(READER!);
const policy = new AccessPolicy({ allowedPathPrefixes: ['/Api/', '/legacy/Api/'], forwardTokenEndpoint: false, tokenPaths: [], readOnly: false });
const SITES: ReadonlyArray<readonly [string, string]> = [['/Api', ''], ['/legacy/Api', ''], ['/legacy/Api', '/legacy'], ['/crm/Api/index.php', '/crm']];

test('pure: every allowed spelling lands inside the API and the caller\'s rule, never at the token endpoint or logout', (t) => {
  let allowed = 0;
  let runs = 0;
  fc.assert(
    fc.property(targetArb, (target) => {
      runs++;
      const verdict = canonicalRequestPath(target, 8192);
      if (!verdict.ok) return;
      for (const caller of [reader, undefined]) {
        if (!policy.check(caller, 'GET', verdict).allowed) continue;
        allowed++;
        for (const [apiBase, sitePath] of SITES) {
          const upstream = upstreamPath(verdict, apiBase, sitePath);
          const rest = afterBase(upstream, apiBase);
          assert.ok(rest !== undefined, `${target} reached ${upstream}, outside the API ${apiBase}`);
          assert.ok(!climbsOut(upstream), `${target} reached ${upstream}`);
          assert.ok(!isOwnEndpoint(rest), `${target} reached SuiteCRM's own ${upstream}`);
          if (caller === reader) assert.ok(rest.startsWith('/V8/module/Accounts'), `${target} escaped the rule: ${upstream}`);
        }
      }
    }),
    { numRuns: 20_000, interruptAfterTimeLimit: 8_000 },
  );
  t.diagnostic(`${runs} targets, ${allowed} allowed decisions checked against ${SITES.length} API bases`);
  assert.ok(allowed > 500, `only ${allowed} generated targets were allowed: the property would prove little`);
});

describe('the real proxy in front of the SuiteCRM 8 double, SUITECRM_URL at the site', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;
  before(async () => {
    crm = await startFakeSuiteCrm({ layout: 'suitecrm8' });
    proxy = await startProxy(crm.url, { LOG_LEVEL: 'warn', PROXY_CLIENTS: JSON.stringify([{ name: 'reader', key: 'reader-key-0123456789abcdef', methods: ['GET'], paths: ['/Api/V8/module/Accounts*'] }]) });
  });
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  test('whatever the spelling, SuiteCRM only sees the caller\'s Accounts under /legacy/Api', async (t) => {
    const port = Number(new URL(proxy.url).port);
    assert.equal((await rawRequest(port, 'GET /legacy/Api/V8/module/Accounts HTTP/1.1\r\nHost: x\r\nX-Proxy-Key: reader-key-0123456789abcdef\r\n\r\n')).status, 200);
    const tokenRequests = crm.tokenRequestCount();
    let forwarded = 0;
    await fc.assert(
      fc.asyncProperty(targetArb, async (target) => {
        const before = crm.requests.length;
        const response = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nX-Proxy-Key: reader-key-0123456789abcdef\r\nConnection: close\r\n\r\n`, { timeoutMs: 10_000 });
        assert.ok(response.status >= 200 && response.status < 600, `no answer for ${target}`);
        for (const seen of crm.requests.slice(before)) {
          forwarded++;
          const rest = afterBase(seen.path, '/legacy/Api');
          assert.ok(rest?.startsWith('/V8/module/Accounts'), `${target} reached ${seen.path}`);
          assert.ok(!climbsOut(seen.path.split('?', 1)[0] ?? ''), seen.path);
        }
      }),
      { numRuns: 300, interruptAfterTimeLimit: 10_000 },
    );
    t.diagnostic(`${forwarded} generated requests reached SuiteCRM`);
    assert.ok(forwarded > 0, 'some generated requests must reach SuiteCRM, or the property proves nothing');
    assert.equal(crm.tokenRequestCount(), tokenRequests, 'no caller request reached the token endpoint');
    assert.deepEqual(crm.seenPaths.filter((path) => path.startsWith('/legacy/legacy')), [], 'never a doubled /legacy');
  });
});
