/**
 * The canonical path (src/security/canonical-path.ts) and the upstream path built from it
 * (src/proxy/upstream-path.ts), as pure functions: every spelling of the API prefix, percent-
 * encodings, case, trailing slashes, queries, paths outside the API, rule text and the loose key
 * that guards SuiteCRM's own token endpoint and logout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalRequestPath, canonicalSpelling, coversLegacyApi, endpointKey, type CanonicalPath } from '../../src/security/canonical-path.js';
import { upstreamPath } from '../../src/proxy/upstream-path.js';

function at(target: string): CanonicalPath {
  const verdict = canonicalRequestPath(target, 8192);
  assert.ok(verdict.ok, target);
  return verdict;
}

const SPELLINGS = ['/Api', '/legacy/Api', '/Api/index.php', '/legacy/Api/index.php'];

test('every spelling of the API prefix has one canonical path: SuiteCRM 7\'s', () => {
  for (const prefix of SPELLINGS) {
    for (const rest of ['/V8/module/Accounts', '/access_token', '/V8/logout', '/V8/module/Accounts/', '', '/']) {
      const path = at(`${prefix}${rest}?page[size]=5`);
      assert.deepEqual({ ...path }, { ok: true, path: `/Api${rest}`, forward: `/Api${rest}`, api: true }, prefix + rest);
    }
  }
});

test('a plain canonical target takes the fast path: the path is the very string received', () => {
  const target = '/Api/V8/module/Accounts';
  const path = at(target);
  assert.equal(path.path, target);
  assert.equal(path.forward, target);
});

test('percent-encoding: decisions see the decoded path, SuiteCRM gets the caller\'s encoding after the canonical prefix', () => {
  assert.deepEqual({ ...at('/legacy/Api/V8/module/Acc%20x') }, { ok: true, path: '/Api/V8/module/Acc x', forward: '/Api/V8/module/Acc%20x', api: true });
  assert.deepEqual({ ...at('/%6cegacy/%41pi/V8/module/%41ccounts') }, { ok: true, path: '/Api/V8/module/Accounts', forward: '/Api/V8/module/%41ccounts', api: true });
  assert.deepEqual({ ...at('/Api/%69ndex.php/V8/x') }, { ok: true, path: '/Api/V8/x', forward: '/Api/V8/x', api: true });
  assert.deepEqual({ ...at('/Api/V8/module/%2541') }, { ok: true, path: '/Api/V8/module/%41', forward: '/Api/V8/module/%2541', api: true }, 'decoded once, as SuiteCRM does');
});

test('case matters, as in SuiteCRM\'s routes: other cases are not the API', () => {
  for (const target of ['/api/V8/x', '/LEGACY/Api/V8/x', '/Legacy/Api/V8/x', '/Apix/V8', '/legacyApi/V8']) {
    const path = at(target);
    assert.equal(path.api, false, target);
    assert.equal(path.path, target);
  }
  assert.equal(at('/legacy/Api/INDEX.PHP/V8/x').path, '/Api/INDEX.PHP/V8/x', 'only the exact /index.php is the no-rewrite form');
});

test('paths outside the API are decoded only; dot, empty and encoded-slash segments are refused before any of this', () => {
  assert.deepEqual({ ...at('/legacy/index.php') }, { ok: true, path: '/legacy/index.php', forward: '/legacy/index.php', api: false });
  assert.deepEqual({ ...at('/custom/%41') }, { ok: true, path: '/custom/A', forward: '/custom/%41', api: false });
  for (const target of ['/legacy/Api/V8/../../index.php', '/legacy//Api/V8/x', '/legacy/Api/V8/%2e%2e/x', '/legacy%2FApi/V8/x', '/legacy/Api\\V8']) {
    const verdict = canonicalRequestPath(target, 8192);
    assert.ok(!verdict.ok && verdict.code === 'BAD_REQUEST', target);
  }
});

test('rule text is read in canonical spelling; text that stops short of /legacy/Api covers the API', () => {
  assert.equal(canonicalSpelling('/legacy/Api/V8/module/Accounts*'), '/Api/V8/module/Accounts*');
  assert.equal(canonicalSpelling('/legacy/Api/index.php/V8/*'), '/Api/V8/*');
  assert.equal(canonicalSpelling('/Api/index.php*'), '/Api*');
  assert.equal(canonicalSpelling('/legacy/Api/'), '/Api/');
  assert.equal(canonicalSpelling('/Api/V8/x'), '/Api/V8/x');
  assert.equal(canonicalSpelling('/legacy/'), '/legacy/');
  for (const head of ['/legacy/', '/legacy', '/leg', '/legacy/Ap']) assert.ok(coversLegacyApi(head), head);
  for (const head of ['/', '', '/legacy/Api', '/legacy/Api/', '/Api/', '/legacy/index']) assert.ok(!coversLegacyApi(head), head);
});

test('the loose key catches near misses of the token endpoint and logout in every spelling', () => {
  for (const path of ['/Api/access_token', '/legacy/api/ACCESS_TOKEN/', '/LEGACY/API/INDEX.PHP/access_token;x', '/Api/index.php/access_token//']) {
    assert.equal(endpointKey(path), '/api/access_token', path);
  }
  for (const path of ['/Api/V8/logout', '/legacy/Api/V8/Logout/', '/api/v8/LOGOUT;jsessionid=1']) assert.equal(endpointKey(path), '/api/v8/logout', path);
  assert.equal(endpointKey('/legacy/legacy/Api/access_token'), '/legacy/legacy/api/access_token', 'one /legacy only');
});

test('upstream path: the API base plus the canonical path; other paths appended to SUITECRM_URL without a doubled /legacy', () => {
  for (const prefix of SPELLINGS) {
    const path = at(`${prefix}/V8/module/Acc%20x`);
    assert.equal(upstreamPath(path, '/Api', ''), '/Api/V8/module/Acc%20x');
    assert.equal(upstreamPath(path, '/legacy/Api', '/legacy'), '/legacy/Api/V8/module/Acc%20x');
    assert.equal(upstreamPath(path, '/crm/legacy/Api/index.php', '/crm'), '/crm/legacy/Api/index.php/V8/module/Acc%20x');
  }
  assert.equal(upstreamPath(at('/Api/V8/x'), '/Api', ''), '/Api/V8/x');
  assert.equal(upstreamPath(at('/custom/x'), '/legacy/Api', ''), '/custom/x');
  assert.equal(upstreamPath(at('/custom/x'), '/legacy/Api', '/legacy'), '/legacy/custom/x');
  assert.equal(upstreamPath(at('/legacy/index.php'), '/legacy/Api', '/legacy'), '/legacy/index.php');
  assert.equal(upstreamPath(at('/legacy/index.php'), '/crm/legacy/Api', '/crm/legacy'), '/crm/legacy/index.php');
  assert.equal(upstreamPath(at('/legacyx'), '/legacy/Api', '/legacy'), '/legacy/legacyx');
});
