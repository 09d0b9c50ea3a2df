/**
 * CredentialSet alone, with managers that hand out a token at once: a reload reaches every
 * credential's settings (also one it does not change), an identity change builds a new manager
 * for that credential only, and an aborted reload leaves everything as it was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, parseSettings, type Env } from '../../src/config/load.js';
import { CredentialSet } from '../../src/reload/credential-set.js';
import { diffConfig } from '../../src/reload/diff.js';
import type { LiveCredential } from '../../src/suitecrm-token/live-credential.js';
import type { OwnedTokenManager } from '../../src/suitecrm-token/token-manager-factory.js';
import type { CachedToken } from '../../src/suitecrm-token/token.js';

const BASE: Env = {
  SUITECRM_URL: 'https://crm.example.com', SUITECRM_CLIENT_ID: 'proxy', SUITECRM_CLIENT_SECRET: 'default-secret-1',
  SUITECRM_CREDENTIALS: JSON.stringify({ ro: { clientId: 'ro', clientSecret: 'ro-secret-1' } }),
};
const state = (env: Env) => ({ config: loadConfig({ ...BASE, ...env }), settings: parseSettings({ ...BASE, ...env }) });

/** A manager stand-in: its token says which credential and which build it came from. */
function builder() {
  const built: LiveCredential[] = [];
  const build = (credential: LiveCredential): OwnedTokenManager => {
    built.push(credential);
    const token = { accessToken: `${credential.current.name}#${built.length}` } as CachedToken;
    const tokens = { current: () => token, get: async () => token, status: () => ({}) } as unknown as OwnedTokenManager['tokens'];
    return { tokens, close: async () => undefined };
  };
  return { built, build };
}

test('a reload reaches every credential, an identity change rebuilds only its own manager', async () => {
  const { built, build } = builder();
  const running = state({});
  const set = new CredentialSet(running.config, build);
  assert.deepEqual(set.names(), ['default', 'ro']);
  assert.equal(built.length, 2);

  const retry = state({ TOKEN_RETRY_MAX_SECONDS: '7' });
  (await set.prepare(retry.config, diffConfig(running, retry))).commit();
  assert.deepEqual(built.map((c) => c.current.tokenRetryMaxMs), [7000, 7000], 'unchanged credentials read the new retry setting');
  assert.equal(built.length, 2, 'no new manager for a shared setting');

  const identity = state({ TOKEN_RETRY_MAX_SECONDS: '7', SUITECRM_CREDENTIALS: JSON.stringify({ ro: { clientId: 'ro-2', clientSecret: 'ro-secret-1' } }) });
  (await set.prepare(identity.config, diffConfig(retry, identity))).commit();
  assert.equal(built.length, 3);
  assert.equal(set.source('ro')?.current()?.accessToken, 'ro#3');
  assert.equal(set.source('default')?.current()?.accessToken, 'default#1', 'the other credential keeps its token');

  const aborted = state({ SUITECRM_CREDENTIALS: JSON.stringify({ ro: { clientId: 'ro-2', clientSecret: 'ro-secret-1' }, added: { clientId: 'a', clientSecret: 'a-secret-1' } }) });
  await (await set.prepare(aborted.config, diffConfig(identity, aborted))).abort();
  assert.deepEqual(set.names(), ['default', 'ro'], 'an aborted reload adds nothing');
});
