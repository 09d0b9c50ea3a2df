/**
 * SUITECRM_CREDENTIALS and the callers' `suitecrm` field (issue #13): what a credential needs per
 * grant, where its secrets come from, how `default` is formed, and the start-up errors that
 * name the credential or the caller (never a secret).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConfigFile, overlayEnv } from '../../src/config/file.js';
import { loadConfig, type Env } from '../../src/config/load.js';
import { detailFor } from '../../src/config/suitecrm-credentials.js';
import { configError } from '../support/config-error.js';

const URL_ONLY = { SUITECRM_URL: 'https://crm.example.com' };
const DEFAULT = { ...URL_ONLY, SUITECRM_CLIENT_ID: 'proxy', SUITECRM_CLIENT_SECRET: 'default-S3cret-value' };
const RO_SECRET = 'ro-S3cret-value-123';
const PW_PASSWORD = 'invoice-P4ssw0rd!';

const NAMED = {
  'reporting-ro': { clientId: 'ro-client', clientSecret: RO_SECRET },
  invoicing: { grantType: 'password', clientId: 'pw-client', clientSecretFile: '/run/secrets/pw', username: 'invoice-bot', passwordFile: '/run/secrets/bot' },
};
const FILES = { '/run/secrets/pw': 'pw-S3cret-value-456\n', '/run/secrets/bot': `${PW_PASSWORD}\n` };
const SECRETS = [RO_SECRET, PW_PASSWORD, 'pw-S3cret-value-456', 'default-S3cret-value'];

function callers(entries: Record<string, Record<string, unknown>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(entries).map(([name, fields]) => [name, { key: `${name}-key-0123456789abcdef`, ...fields }])));
}

const withCredentials = (credentials: unknown, env: Env = DEFAULT): Record<string, string> =>
  ({ ...env, SUITECRM_CREDENTIALS: JSON.stringify(credentials) }) as Record<string, string>;

const read = (path: string): string => {
  const text = (FILES as Record<string, string>)[path];
  if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  return text;
};

test('default from SUITECRM_* first, then the named ones, secrets read from their files', () => {
  const config = loadConfig(withCredentials(NAMED), read);
  assert.deepEqual(config.credentials.map((c) => [c.name, c.grantType, c.clientId, c.username, c.fromSettings]), [
    ['default', 'client_credentials', 'proxy', undefined, true],
    ['reporting-ro', 'client_credentials', 'ro-client', undefined, false],
    ['invoicing', 'password', 'pw-client', 'invoice-bot', false],
  ]);
  assert.equal(config.credentials[2]?.clientSecret, 'pw-S3cret-value-456', 'the trailing newline is not part of the secret');
  assert.equal(config.credentials[2]?.password, PW_PASSWORD);
});

test('without SUITECRM_* settings there is no default, and callers must each name a credential', () => {
  const config = loadConfig({ ...withCredentials(NAMED, URL_ONLY), PROXY_CLIENTS: callers({ etl: { suitecrm: 'reporting-ro' }, billing: { suitecrm: 'invoicing' } }) }, read);
  assert.deepEqual(config.credentials.map((c) => c.name), ['reporting-ro', 'invoicing']);
  assert.deepEqual(config.security.clients?.map((c) => [c.name, c.suitecrm]), [['etl', 'reporting-ro'], ['billing', 'invoicing']]);
  // A credential may itself be named default.
  const named = loadConfig({ ...withCredentials({ default: { clientId: 'd', clientSecret: 'x' } }, URL_ONLY) });
  assert.deepEqual(named.credentials.map((c) => [c.name, c.fromSettings]), [['default', false]]);
});

test('a config file holds SUITECRM_CREDENTIALS as a YAML mapping', () => {
  const yaml = 'SUITECRM_URL: https://crm.example.com\nSUITECRM_CREDENTIALS:\n  reporting-ro:\n    clientId: ro-client\n    clientSecretFile: /etc/proxy/ro.secret\n';
  const files: Record<string, string> = { '/etc/proxy/config.yaml': yaml, '/etc/proxy/ro.secret': RO_SECRET };
  const fileReader = (path: string): string => files[path] ?? read(path);
  const env = overlayEnv(readConfigFile('/etc/proxy/config.yaml', fileReader), { PROXY_CLIENTS: callers({ etl: { suitecrm: 'reporting-ro' } }) });
  const config = loadConfig(env, fileReader);
  assert.equal(config.credentials[0]?.name, 'reporting-ro');
  assert.equal(config.credentials[0]?.clientSecret, RO_SECRET);
});

test('SUITECRM_CREDENTIALS errors name the credential and the field, never a value', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['{"reporting-ro": ', /SUITECRM_CREDENTIALS: is not valid JSON/],
    [[], /must be a non-empty JSON object of credentials keyed by name/],
    [{}, /must be a non-empty JSON object/],
    [{ 'bad name': { clientId: 'a', clientSecret: 'b' } }, /credential "bad name": a name must be 1-64 characters/],
    [{ ro: { clientId: 'a', clientSecret: RO_SECRET, scope: 'x' } }, /credential "ro": unknown field "scope" \(known: grantType, clientId/],
    [{ ro: { clientSecret: RO_SECRET } }, /credential "ro"\.clientId is required/],
    [{ ro: { clientId: 'a' } }, /credential "ro" needs clientSecret or clientSecretFile/],
    [{ ro: { clientId: 'a', clientSecret: RO_SECRET, clientSecretFile: '/x' } }, /credential "ro": give clientSecret or clientSecretFile, not both/],
    [{ ro: { clientId: 'a', clientSecretFile: '/missing' } }, /credential "ro"\.clientSecretFile: cannot read \/missing \(ENOENT\)/],
    [{ ro: { grantType: 'implicit', clientId: 'a', clientSecret: RO_SECRET } }, /credential "ro"\.grantType must be one of client_credentials, password, refresh_token/],
    [{ pw: { grantType: 'password', clientId: 'a', clientSecret: RO_SECRET, password: PW_PASSWORD } }, /credential "pw"\.username is required for grantType password/],
    [{ pw: { grantType: 'password', clientId: 'a', clientSecret: RO_SECRET, username: 'u' } }, /credential "pw" needs password or passwordFile/],
    [{ ro: { clientId: 'a', clientSecret: RO_SECRET, username: 'u', password: PW_PASSWORD } }, /username and password are used only with grantType password/],
    [{ rt: { grantType: 'refresh_token', clientId: 'a', clientSecret: RO_SECRET } }, /credential "rt" needs refreshToken or refreshTokenFile/],
    [{ ro: { clientId: 'a', clientSecret: RO_SECRET, refreshToken: 'r' } }, /refreshToken is used only with grantType refresh_token/],
    [{ default: { clientId: 'a', clientSecret: RO_SECRET } }, /credential "default" is given twice: by the SUITECRM_\* settings/],
  ];
  for (const [credentials, expected] of cases) {
    const raw = typeof credentials === 'string' ? credentials : JSON.stringify(credentials);
    const err = configError({ ...DEFAULT, SUITECRM_CREDENTIALS: raw }, {}, SECRETS);
    assert.equal(err.setting, 'SUITECRM_CREDENTIALS', err.message);
    assert.match(err.message, expected);
  }
});

test('every caller needs a credential that exists; the error names the caller', () => {
  const unknown = configError({ ...withCredentials(NAMED), PROXY_CLIENTS: callers({ etl: { suitecrm: 'reporting-rw' } }) }, FILES, SECRETS);
  assert.equal(unknown.setting, 'PROXY_CLIENTS');
  assert.match(unknown.message, /caller "etl"\.suitecrm names the SuiteCRM credential "reporting-rw", which SUITECRM_CREDENTIALS does not define \(configured: "default", "reporting-ro", "invoicing"\)/);

  const orphan = configError({ ...withCredentials(NAMED, URL_ONLY), PROXY_CLIENTS: callers({ etl: { suitecrm: 'reporting-ro' }, legacy: {} }) }, FILES, SECRETS);
  assert.match(orphan.message, /caller "legacy" names no SuiteCRM credential and there is no "default" one/);

  const anonymous = configError(withCredentials(NAMED, URL_ONLY), FILES, SECRETS);
  assert.equal(anonymous.setting, 'SUITECRM_CREDENTIALS');
  assert.match(anonymous.message, /the caller "anonymous" .*PROXY_CLIENTS is not set.* uses the credential "default", which is not configured/);

  const unauthenticated = configError({ ...withCredentials(NAMED, URL_ONLY), PROXY_ALLOW_UNAUTHENTICATED: 'true', PROXY_CLIENTS: callers({ etl: { suitecrm: 'reporting-ro' } }) }, FILES, SECRETS);
  assert.match(unauthenticated.message, /the caller "anonymous" .*PROXY_ALLOW_UNAUTHENTICATED=true/);

  const badName = configError({ ...DEFAULT, PROXY_CLIENTS: callers({ etl: { suitecrm: 'no spaces' } }) });
  assert.match(badName.message, /caller "etl"\.suitecrm must name a SuiteCRM credential/);
});

test('without SUITECRM_CREDENTIALS the SUITECRM_* settings are required as before', () => {
  assert.match(configError(URL_ONLY).message, /^SUITECRM_CLIENT_ID: is required/);
  assert.match(configError({ ...DEFAULT, SUITECRM_GRANT_TYPE: 'password' }).message, /^SUITECRM_USERNAME: is required/);
});

test('a token error detail names its credential and, for a named one, its own fields', () => {
  const detail = 'SuiteCRM rejected the client; check SUITECRM_CLIENT_ID, SUITECRM_CLIENT_SECRET and that the client allows SUITECRM_GRANT_TYPE';
  assert.equal(detailFor({ name: 'invoicing', fromSettings: false }, detail),
    'SuiteCRM credential "invoicing": SuiteCRM rejected the client; check clientId, clientSecret and that the client allows grantType');
  assert.equal(detailFor({ name: 'default', fromSettings: true }, detail), `SuiteCRM credential "default": ${detail}`);
  assert.match(detailFor({ name: 'x', fromSettings: false }, 'check SUITECRM_URL'), /check SUITECRM_URL$/, 'shared settings keep their names');
});

test('a SUITECRM_GRANT_TYPE of its own next to SUITECRM_CREDENTIALS makes the SUITECRM_* settings the default credential', () => {
  const err = configError({ ...withCredentials(NAMED, URL_ONLY), SUITECRM_GRANT_TYPE: 'password' }, FILES, SECRETS);
  assert.match(err.message, /^SUITECRM_CLIENT_ID: is required/, 'not silently ignored');
});
