import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FALLBACK_LIFETIME_MS, parseTokenResponse, TokenRequestError, tokenEndpoint } from '../../src/suitecrm-token/grant.js';

test('token response: expires_in counted from our receipt time', () => {
  const t = parseTokenResponse({ token_type: 'Bearer', expires_in: 3600, access_token: 'a.b.c', refresh_token: 'def50200ab' }, 'password', 42);
  assert.equal(t.lifetimeMs, 3_600_000);
  assert.equal(t.receivedAt, 42);
  assert.equal(t.refreshToken, 'def50200ab');
  assert.equal(t.authorization, 'Bearer a.b.c');
  assert.equal(t.expiresInReported, true);
});

test('missing or non-numeric expires_in falls back to a short lifetime', () => {
  for (const expires_in of [undefined, 'soon', -5, 0, null]) {
    const t = parseTokenResponse({ access_token: 'a.b.c', expires_in }, 'client_credentials', 0);
    assert.equal(t.lifetimeMs, FALLBACK_LIFETIME_MS);
    assert.equal(t.expiresInReported, false);
  }
  assert.equal(parseTokenResponse({ access_token: 'x', expires_in: '120' }, 'client_credentials', 0).lifetimeMs, 120_000);
});

test('a 200 without a usable access_token is a transient invalid response', () => {
  for (const body of [{}, { access_token: '' }, { access_token: 5 }, { access_token: 'a b' }, 'text', null]) {
    assert.throws(() => parseTokenResponse(body, 'client_credentials', 0), (err: unknown) =>
      err instanceof TokenRequestError && err.failureClass === 'transient' && err.reason === 'invalid_response');
  }
});

test('the token endpoint keeps the SuiteCRM 8 base path', () => {
  assert.equal(tokenEndpoint({ suitecrmUrl: new URL('https://crm.example.com/legacy'), basePath: '/legacy', tokenPath: '/Api/access_token' }).href,
    'https://crm.example.com/legacy/Api/access_token');
});
