/**
 * Pure parts of the request path: target checks, `_METHOD` detection and access rules (the token
 * bucket: test/shared-state/memory-counters.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClients } from '../../src/config/callers.js';
import { bodyOverridesMethod, checkRequestTarget, overrideBodyKind, StreamedOverrideScanner } from '../../src/security/request-guard.js';
import { AccessPolicy, compileCaller, compilePattern } from '../../src/security/rules.js';
import { canonicalRequestPath, type CanonicalPath } from '../../src/security/canonical-path.js';

test('safe origin-form targets pass with their raw and decoded paths', () => {
  for (const target of ['/Api/V8/module/Accounts?page[size]=5', '/Api/V8/module/Accounts/', '/legacy/Api/V8/meta/modules', '/Api/V8/module/Accounts?filter[name][eq]=a%2Fb%2e%2e', '/Api/V8/module/Acc%20x']) {
    const verdict = checkRequestTarget(target, 8192);
    assert.ok(verdict.ok, target);
  }
  const v = checkRequestTarget('/Api/V8/module/Acc%20x?q=1', 8192);
  assert.deepEqual(v, { ok: true, rawPath: '/Api/V8/module/Acc%20x', decodedPath: '/Api/V8/module/Acc x' });
});

test('hostile targets are refused with a specific reason', () => {
  const cases: [string, RegExp][] = [
    ['http://evil.example/Api/V8', /must be a path starting with \//],
    ['*', /must be a path starting with \//],
    ['//evil.example/Api/V8', /must not start with \/\//],
    ['/Api/V8/../../index.php', /"\.\." segments/],
    ['/Api/V8/./module', /"\.\." segments/],
    ['/Api//access_token', /empty segments/],
    ['/Api/V8/%2e%2e/%2E%2E/index.php', /"\.\." segments/],
    ['/Api/V8/.%2e/x', /"\.\." segments/],
    ['/Api/V8/%252e%252e/x', /"\.\." segments/],
    ['/Api/V8/%25252e%25252e/x', /"\.\." segments/],
    ['/Api/V8/..%2f..%2findex.php', /encoded slashes/],
    ['/Api/V8/..%5cindex.php', /encoded slashes/],
    ['/Api/V8\\..\\index.php', /backslashes/],
    ['/Api/V8/%255c', /backslashes/],
    ['/Api/V8/x%00.php', /NUL/],
    ['/Api/V8/x%0d%0aX:%20y', /control characters/],
    ['/Api/V8/x%zz', /malformed percent-encoding/],
    ['/Api/V8/x#frag', /fragment/],
    ['/Api/V8/\u00e9', /non-ASCII/],
  ];
  for (const [target, expected] of cases) {
    const verdict = checkRequestTarget(target, 8192);
    assert.ok(!verdict.ok, target);
    assert.equal(verdict.code, 'BAD_REQUEST', target);
    assert.match(verdict.detail, expected, target);
  }
  const long = checkRequestTarget(`/Api/V8/${'a'.repeat(100)}`, 64);
  assert.ok(!long.ok && long.code === 'URI_TOO_LONG');
});

test('_METHOD overrides are found in form, multipart and JSON bodies the way PHP and Slim read them', () => {
  const form = overrideBodyKind('application/x-www-form-urlencoded; charset=utf-8');
  assert.equal(form, 'form');
  for (const body of ['_METHOD=DELETE', 'a=1&_METHOD=PUT', '%5FMETHOD=DELETE', '.METHOD=DELETE', ' _METHOD=DELETE', '_METHOD[]=x']) {
    assert.ok(bodyOverridesMethod(form, Buffer.from(body)), body);
  }
  assert.ok(!bodyOverridesMethod(form, Buffer.from('method=DELETE&_method=x&X_METHOD=1')));
  const json = overrideBodyKind('application/vnd.api+json');
  assert.equal(json, 'json');
  assert.ok(bodyOverridesMethod(json, Buffer.from('{"data":{},"_METHOD":"DELETE"}')));
  assert.ok(bodyOverridesMethod(json, Buffer.from('{"\\u005fMETHOD":"DELETE"}')));
  // Every letter escaped: no "METHOD" in the text, still the member SuiteCRM would read.
  assert.ok(bodyOverridesMethod(json, Buffer.from('{"\\u005f\\u004d\\u0045\\u0054\\u0048\\u004f\\u0044":"DELETE"}')));
  assert.ok(!bodyOverridesMethod(json, Buffer.from('{"data":{"type":"Accounts","attributes":{"name":"x"}}}')));
  assert.ok(!bodyOverridesMethod(json, Buffer.from('{"data":{"_METHOD":"nested is not read"}}')));
  assert.ok(!bodyOverridesMethod(json, Buffer.from('not json')));
  const multipart = overrideBodyKind('multipart/form-data; boundary=XX');
  const mp = '--XX\r\nContent-Disposition: form-data; name="_METHOD"\r\n\r\nDELETE\r\n--XX--\r\n';
  assert.ok(bodyOverridesMethod(multipart, Buffer.from(mp)));
  assert.ok(!bodyOverridesMethod(multipart, Buffer.from(mp.replace('_METHOD', 'file'))));
  assert.equal(overrideBodyKind('text/plain'), undefined);
  assert.equal(overrideBodyKind(undefined), undefined);
});

test('a Content-Type keeps its kind however often it is asked, past the bound of remembered ones', () => {
  const kinds = ['application/json', 'text/plain', 'multipart/form-data; boundary=a', 'application/x-www-form-urlencoded', 'application/merge-patch+json'];
  const expected = ['json', undefined, 'multipart', 'form', 'json'];
  // 200 invented types in between empty the remembered ones several times; a long one is never kept.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 200; i++) assert.equal(overrideBodyKind(`application/x-invented-${round}-${i}`), undefined);
    kinds.forEach((type, i) => assert.equal(overrideBodyKind(type), expected[i], type));
    assert.equal(overrideBodyKind(`application/json; x=${'y'.repeat(300)}`), 'json');
  }
});

test('streamed bodies are scanned for any spelling of _METHOD, across chunk boundaries', () => {
  const flags = (kind: 'form' | 'json' | 'multipart', ...chunks: string[]): boolean => {
    const scanner = new StreamedOverrideScanner(kind);
    return chunks.map((c) => scanner.push(Buffer.from(c, 'latin1'))).some(Boolean);
  };
  for (const body of ['a=1&_METHOD=DELETE', 'a=1&%5FMETHOD=DELETE', '+METHOD=DELETE', '.METHOD=x', '%2eMETHOD=x', '%5F%4D%45%54%48%4F%44=DELETE']) {
    assert.ok(flags('form', body), body);
  }
  assert.ok(flags('form', 'a=1&_MET', 'HOD=DELETE'), 'split across chunks');
  assert.ok(flags('json', '{"\\u005fMETHOD":"DELETE"}'));
  assert.ok(flags('json', '{"_\\u004dETHOD":"DELETE"}'));
  assert.ok(flags('multipart', '--B\r\nContent-Disposition: form-data; name="_METHOD"\r\n'));
  assert.ok(!flags('form', 'payment_method=card&method=x&METHOD=y'), 'lower case and bare METHOD are not overrides');
  assert.ok(!flags('json', '{"name":"caf\\u00e9","data":"QUJD+/=="}'));
  assert.ok(!flags('multipart', '--B\r\n\r\n\x00%45%4d%5f binary \xff'), 'escaped letters in binary parts are not flagged');
});

test('path patterns: * matches any run of characters, everything else literally', () => {
  const re = compilePattern('/Api/V8/module/Accounts*');
  assert.ok(re.test('/Api/V8/module/Accounts'));
  assert.ok(re.test('/Api/V8/module/Accounts/1/relationships/contacts'));
  assert.ok(!re.test('/Api/V8/module/Contacts'));
  assert.ok(!compilePattern('/Api/V8/meta.json').test('/Api/V8/metaXjson'), '. is literal');
});

/** The canonical path of a target, as the security plugin hands it to the rules. */
function at(target: string): CanonicalPath {
  const verdict = canonicalRequestPath(target, 8192);
  assert.ok(verdict.ok, target);
  return verdict;
}

const policy = (overrides: Partial<ConstructorParameters<typeof AccessPolicy>[0]> = {}): AccessPolicy =>
  new AccessPolicy({ allowedPathPrefixes: ['/Api/', '/legacy/Api/'], forwardTokenEndpoint: false, tokenPaths: ['/custom/token'], readOnly: false, ...overrides });

test('global rules: allowed prefixes, never the token endpoint unless asked, read-only', () => {
  const p = policy();
  assert.deepEqual(p.check(undefined, 'GET', at('/Api/V8/module/Accounts')), { allowed: true });
  assert.match(denied(p.check(undefined, 'GET', at('/index.php'))), /PROXY_ALLOWED_PATH_PREFIXES/);
  assert.match(denied(p.check(undefined, 'GET', at('/api/V8'))), /PROXY_ALLOWED_PATH_PREFIXES/);
  assert.ok(!canonicalRequestPath('/Api%2fV8', 8192).ok, 'an encoded slash never gets as far as the rules');
  for (const path of ['/Api/access_token', '/Api/index.php/access_token', '/legacy/Api/access_token', '/legacy/Api/index.php/access_token', '/Api/Access_Token/']) {
    assert.match(denied(p.check(undefined, 'POST', at(path))), /token endpoint/, path);
  }
  assert.match(denied(policy({ allowedPathPrefixes: ['/'] }).check(undefined, 'POST', at('/custom/token'))), /token endpoint/);
  assert.deepEqual(policy({ forwardTokenEndpoint: true }).check(undefined, 'POST', at('/Api/access_token')), { allowed: true });
  const ro = policy({ readOnly: true });
  assert.deepEqual(ro.check(undefined, 'GET', at('/Api/V8/x')), { allowed: true });
  assert.deepEqual(ro.check(undefined, 'OPTIONS', at('/Api/V8/x')), { allowed: true });
  assert.equal(denied(ro.check(undefined, 'DELETE', at('/Api/V8/x'))), 'PROXY_READ_ONLY');
});

test('caller rules: any allow rule may match; a refusal names the caller and its rules', () => {
  const [spec] = parseClients(JSON.stringify([{ name: 'reporting', key: 'k'.repeat(16), allow: [{ methods: ['GET'], paths: ['/Api/V8/module/Accounts*'] }, { methods: ['POST'], paths: ['/Api/V8/module'] }] }]), () => '');
  const caller = compileCaller(spec!);
  const p = policy();
  assert.deepEqual(p.check(caller, 'GET', at('/Api/V8/module/Accounts/1')), { allowed: true });
  assert.deepEqual(p.check(caller, 'POST', at('/Api/V8/module')), { allowed: true });
  const rule = denied(p.check(caller, 'DELETE', at('/Api/V8/module/Accounts/1')));
  assert.equal(rule, 'caller reporting allow rules [GET /Api/V8/module/Accounts*; POST /Api/V8/module]');
  assert.ok(!p.check(caller, 'GET', at('/Api/V8/module/Contacts')).allowed);
});

function denied(decision: ReturnType<AccessPolicy['check']>): string {
  assert.equal(decision.allowed, false);
  return decision.allowed ? '' : decision.rule;
}
