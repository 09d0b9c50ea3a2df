import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, type ConfigError } from '../../src/config/load.js';
import { configError } from '../support/config-error.js';

const base = { SUITECRM_URL: 'https://crm.example.com/', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'very-secret-value' };

function rejects(env: Record<string, string>, setting: string, files: Record<string, string> = {}): ConfigError {
  const err = configError(env, files, ['very-secret-value']);
  assert.equal(err.setting, setting);
  assert.ok(err.message.startsWith(setting), err.message);
  return err;
}

test('defaults', () => {
  const c = loadConfig(base);
  assert.equal(c.suitecrmUrl.href, 'https://crm.example.com/');
  assert.equal(c.basePath, '');
  assert.equal(c.tokenPath, undefined, "the API base's /access_token");
  assert.equal(c.apiBase, undefined, 'detected');
  assert.equal(c.credentials[0]?.grantType, 'client_credentials');
  assert.equal(c.credentials[0]?.name, 'default');
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8080);
  assert.equal(c.refreshMarginMs, 60_000);
  assert.equal(c.replayBodyLimitBytes, 1_048_576);
  assert.equal(c.tokenRequestFormat, 'form');
  assert.ok(Object.isFrozen(c));
});

test('SuiteCRM 8 base path is kept without a trailing slash', () => {
  const c = loadConfig({ ...base, SUITECRM_URL: 'https://crm.example.com/legacy/' });
  assert.equal(c.basePath, '/legacy');
});

test('every bad setting is named', () => {
  rejects({ SUITECRM_CLIENT_ID: 'x', SUITECRM_CLIENT_SECRET: 'y' }, 'SUITECRM_URL');
  rejects({ ...base, SUITECRM_URL: 'not a url' }, 'SUITECRM_URL');
  rejects({ ...base, SUITECRM_URL: 'ftp://crm' }, 'SUITECRM_URL');
  rejects({ ...base, SUITECRM_URL: 'https://u:p@crm' }, 'SUITECRM_URL');
  rejects({ ...base, SUITECRM_CLIENT_ID: '' }, 'SUITECRM_CLIENT_ID');
  rejects({ ...base, SUITECRM_CLIENT_SECRET: '' }, 'SUITECRM_CLIENT_SECRET');
  rejects({ ...base, SUITECRM_GRANT_TYPE: 'implicit' }, 'SUITECRM_GRANT_TYPE');
  rejects({ ...base, SUITECRM_GRANT_TYPE: 'password' }, 'SUITECRM_USERNAME');
  rejects({ ...base, SUITECRM_GRANT_TYPE: 'password', SUITECRM_USERNAME: 'u' }, 'SUITECRM_PASSWORD');
  rejects({ ...base, SUITECRM_GRANT_TYPE: 'refresh_token' }, 'SUITECRM_REFRESH_TOKEN');
  rejects({ ...base, PROXY_PORT: '80000' }, 'PROXY_PORT');
  rejects({ ...base, PROXY_PORT: 'http' }, 'PROXY_PORT');
  rejects({ ...base, TOKEN_REFRESH_MARGIN_SECONDS: '-1' }, 'TOKEN_REFRESH_MARGIN_SECONDS');
  rejects({ ...base, REPLAY_BODY_LIMIT_BYTES: '1.5' }, 'REPLAY_BODY_LIMIT_BYTES');
  rejects({ ...base, SUITECRM_TOKEN_PATH: 'Api/access_token' }, 'SUITECRM_TOKEN_PATH');
  rejects({ ...base, LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
  rejects({ ...base, SUITECRM_TOKEN_REQUEST_FORMAT: 'xml' }, 'SUITECRM_TOKEN_REQUEST_FORMAT');
});

test('secrets come from <NAME>_FILE, trimmed of the final newline', () => {
  const env = { SUITECRM_URL: 'http://crm', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET_FILE: '/run/secrets/s' };
  const c = loadConfig(env, (path) => (path === '/run/secrets/s' ? 'from-file\n' : ''));
  assert.equal(c.credentials[0]?.clientSecret, 'from-file');
});

test('a missing secret file or a double definition is named', () => {
  const err = rejects({ ...base, SUITECRM_CLIENT_SECRET: '', SUITECRM_CLIENT_SECRET_FILE: '/nope' }, 'SUITECRM_CLIENT_SECRET_FILE');
  assert.match(err.message, /ENOENT/);
  rejects({ ...base, SUITECRM_CLIENT_SECRET_FILE: '/x' }, 'SUITECRM_CLIENT_SECRET', { '/x': 'y' });
});

test('PROXY_WORKERS > 1 with callers that log in with clientId/clientSecret: their sessions live in the primary', () => {
  const clients = JSON.stringify([{ name: 'legacy', clientId: 'legacy-tool', clientSecret: 'Legacy-Secret-123' }]);
  assert.equal(loadConfig({ ...base, PROXY_WORKERS: '2', PROXY_CLIENTS: clients }).workers, 2);
});
