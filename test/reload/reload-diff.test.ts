/**
 * The pure parts of a reload: what a diff reports (names only), which settings need a restart,
 * and that the reloader commits every part or none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseSettings, loadConfig, type Env } from '../../src/config/load.js';
import { SETTINGS } from '../../src/config/settings.js';
import { diffConfig, effectiveConfig, LIVE_SETTINGS } from '../../src/reload/diff.js';
import { Reloader } from '../../src/reload/reloader.js';
import { replaySnapshot, type ConfigSnapshot } from '../../src/reload/snapshot.js';
import { ReloadApplyError, type ReloadTarget } from '../../src/reload/target.js';

const BASE: Env = {
  SUITECRM_URL: 'https://crm.example.com', SUITECRM_CLIENT_ID: 'proxy', SUITECRM_CLIENT_SECRET: 'secret-one-1234567',
  PROXY_CLIENTS: JSON.stringify([{ name: 'etl', key: 'etl-key-0123456789ab' }, { name: 'bi', key: 'bi-key-0123456789abcd' }]),
};

const snap = (env: Env): ConfigSnapshot => replaySnapshot({ ...BASE, ...env }, new Map());
const state = (env: Env) => {
  const merged = { ...BASE, ...env };
  return { config: loadConfig(merged), settings: parseSettings(merged) };
};

test('a new secret is a secret change: names only, no value', () => {
  const diff = diffConfig(state({}), state({ SUITECRM_CLIENT_SECRET: 'secret-two-7654321' }));
  assert.deepEqual(diff.changed, ['SUITECRM_CLIENT_SECRET']);
  assert.equal(diff.credential, 'secret');
  assert.ok(!JSON.stringify(diff).includes('secret-two'));
});

test('a new client id or user is an identity change', () => {
  assert.equal(diffConfig(state({}), state({ SUITECRM_CLIENT_ID: 'other' })).credential, 'identity');
});

test('callers: added, removed and changed by name; PROXY_CLIENTS named once', () => {
  const next = JSON.stringify([{ name: 'etl', key: 'etl-key-NEW-456789ab' }, { name: 'ops', key: 'ops-key-0123456789ab' }]);
  const diff = diffConfig(state({}), state({ PROXY_CLIENTS: next }));
  assert.deepEqual(diff.changed, ['PROXY_CLIENTS']);
  assert.deepEqual([diff.callersAdded, diff.callersRemoved, diff.callersChanged], [['ops'], ['bi'], ['etl']]);
});

test('a key file with new content changes its caller although PROXY_CLIENTS reads the same', () => {
  const clients = JSON.stringify([{ name: 'etl', keyFile: '/k' }]);
  const before = loadConfig({ ...BASE, PROXY_CLIENTS: clients }, () => 'key-file-one-123456');
  const after = loadConfig({ ...BASE, PROXY_CLIENTS: clients }, () => 'key-file-two-123456');
  const settings = parseSettings({ ...BASE, PROXY_CLIENTS: clients });
  const diff = diffConfig({ config: before, settings }, { config: after, settings });
  assert.deepEqual([diff.changed, diff.callersChanged], [['PROXY_CLIENTS'], ['etl']]);
});

test('settings that need a restart are reported and keep their running values', () => {
  const running = state({});
  const next = state({ PROXY_PORT: '9999', SUITECRM_URL: 'https://other.example.com', LOG_LEVEL: 'debug' });
  const diff = diffConfig(running, next);
  assert.deepEqual(diff.changed, ['LOG_LEVEL']);
  assert.deepEqual(diff.restartRequired, ['SUITECRM_URL', 'PROXY_PORT']);
  const effective = effectiveConfig(running.config, next.config);
  assert.equal(effective.port, 8080);
  assert.equal(effective.suitecrmUrl.href, 'https://crm.example.com/');
  assert.equal(effective.logLevel, 'debug');
});

test('every live setting exists in the schema', () => {
  const names = new Set<string>(SETTINGS.map((s) => s.env));
  for (const name of LIVE_SETTINGS) assert.ok(names.has(name), name);
});

function target(log: string[], name: string, fail = false): ReloadTarget {
  return {
    prepare: async () => {
      if (fail) throw new ReloadApplyError('SUITECRM_CLIENT_ID', 'no token');
      log.push(`${name} prepared`);
      return { commit: () => log.push(`${name} committed`), abort: async () => { log.push(`${name} aborted`); } };
    },
  };
}

test('the reloader commits every part or none, and names the failing setting', async () => {
  const log: string[] = [];
  const logger = pino({ level: 'silent' });
  let next: Env = { LOG_LEVEL: 'debug' };
  const ok = new Reloader({ initial: snap({}), read: () => snap(next), targets: [target(log, 'a'), target(log, 'b')], logger });
  assert.equal((await ok.reload('SIGHUP')).outcome, 'success');
  assert.deepEqual(log.splice(0), ['a prepared', 'b prepared', 'a committed', 'b committed']);
  assert.equal(ok.config.logLevel, 'debug');

  const failing = new Reloader({ initial: snap({}), read: () => snap(next), targets: [target(log, 'a'), target(log, 'b', true)], logger });
  assert.deepEqual(await failing.reload('SIGHUP'), { outcome: 'failed', setting: 'SUITECRM_CLIENT_ID' });
  assert.deepEqual(log.splice(0), ['a prepared', 'a aborted']);
  assert.equal(failing.config.logLevel, 'info');

  next = { PROXY_PORT: 'eighty' };
  assert.deepEqual(await ok.reload('SIGHUP'), { outcome: 'failed', setting: 'PROXY_PORT' });
  assert.deepEqual(log, []);
});

test('after a rejection, an unchanged configuration is no reload at all', async () => {
  const log: string[] = [];
  const reloader = new Reloader({ initial: snap({}), read: () => snap({}), targets: [target(log, 'a')], logger: pino({ level: 'silent' }) });
  assert.deepEqual(await reloader.reload('credentials_rejected'), { outcome: 'unchanged' });
  assert.deepEqual(log, []);
});

test('each SuiteCRM credential gets its own change: added, removed, identity or secret; TOKEN_PATH is every one\'s identity', () => {
  const credentials = (value: unknown): Env => ({ SUITECRM_CREDENTIALS: JSON.stringify(value) });
  const ro = { clientId: 'ro', clientSecret: 'ro-secret-1' };
  const pw = { grantType: 'password', clientId: 'pw', clientSecret: 'pw-secret-1', username: 'bot', password: 'pw-pass-1' };
  const before = state(credentials({ ro, pw, gone: ro }));
  const after = state(credentials({ ro: { ...ro, clientSecret: 'ro-secret-2' }, pw: { ...pw, username: 'other' }, fresh: ro }));
  const diff = diffConfig(before, after);
  assert.deepEqual(diff.credentials, { ro: 'secret', pw: 'identity', fresh: 'added', gone: 'removed' });
  assert.equal(diff.credential, 'identity');
  assert.deepEqual(diff.changed, ['SUITECRM_CREDENTIALS']);
  assert.ok(!JSON.stringify(diff).includes('secret-2'), 'names only');

  const path = diffConfig(state(credentials({ ro })), state({ ...credentials({ ro }), SUITECRM_TOKEN_PATH: '/legacy/Api/access_token' }));
  assert.deepEqual(path.credentials, { default: 'identity', ro: 'identity' });
  assert.deepEqual(diffConfig(state(credentials({ ro })), state(credentials({ ro }))).credentials, {});
});
