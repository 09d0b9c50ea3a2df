/**
 * Readiness over several credentials, with token sources that answer at once: each credential's
 * state, one error per failing credential, and each error's detail naming its credential once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readiness } from '../../src/admin/readiness.js';
import { ProxyError } from '../../src/errors.js';
import type { CachedToken, TokenSource, TokenSources, TokenStatus } from '../../src/suitecrm-token/token.js';
import type { ApiBaseSource } from '../../src/upstream/api-base.js';

function source(outcome: CachedToken | ProxyError): TokenSource {
  const status = { expiresInMs: 120_000, tokenStore: 'memory', tokenStoreShared: true } as TokenStatus;
  return {
    current: () => (outcome instanceof ProxyError ? undefined : outcome),
    get: async () => { if (outcome instanceof ProxyError) throw outcome; return outcome; },
    status: () => status,
  } as unknown as TokenSource;
}

/** SuiteCRM's API, already found. */
const API: ApiBaseSource = { current: () => '/Api', resolve: async () => '/Api', state: () => ({ base: '/Api', source: 'detected' }) };

function sources(byName: Record<string, TokenSource>): TokenSources {
  return { source: (name) => byName[name], names: () => Object.keys(byName) };
}

test('ready only when every credential is; each failing one is named once in its own error', async () => {
  const token = { grant: 'client_credentials' } as CachedToken;
  const down = new ProxyError('TOKEN_UNAVAILABLE', 'no SuiteCRM token could be obtained: SuiteCRM credential "reports": the token endpoint could not be reached', { retryAfterSeconds: 2 });
  const rejected = new ProxyError('CREDENTIALS_REJECTED', 'SuiteCRM credential "billing": SuiteCRM rejected the client');
  const state = await readiness(sources({ default: source(token), reports: source(down), billing: source(rejected) }), 100, API);
  assert.equal(state.ready, false);
  assert.deepEqual(Object.fromEntries(Object.entries(state.credentials).map(([name, c]) => [name, [c.status, c.code]])),
    { default: ['ready', undefined], reports: ['failing', 'TOKEN_UNAVAILABLE'], billing: ['failing', 'CREDENTIALS_REJECTED'] });
  assert.deepEqual(state.errors.map((e) => e.detail.split('SuiteCRM credential').length - 1), [1, 1], 'named once each');
  assert.equal(state.credentials.default?.tokenExpiresInSeconds, 120);

  const plain = await readiness(sources({ x: source(new ProxyError('TOKEN_UNAVAILABLE', 'the token request is still running')) }), 100, API);
  assert.equal(plain.errors[0]?.detail, 'SuiteCRM credential "x": the token request is still running', 'a detail without the name gets it');
  assert.equal((await readiness(sources({ default: source(token) }), 100, API)).ready, true);
});
