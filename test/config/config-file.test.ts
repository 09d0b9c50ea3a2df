import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overlayEnv, readConfigFile } from '../../src/config/file.js';
import { ConfigError, loadConfig, type FileReader } from '../../src/config/load.js';

const SECRET = 'file-secret-Z9!q';

function reader(files: Record<string, string>): FileReader {
  return (path) => {
    if (path in files) return files[path]!;
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  };
}

function fileError(text: string, path = '/etc/proxy/config.yaml'): ConfigError {
  let caught: unknown;
  try {
    readConfigFile(path, reader({ [path]: text }));
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, 'expected a ConfigError');
  assert.ok(!caught.message.includes(SECRET), 'never echoes a secret');
  return caught;
}

test('YAML: scalars become the same strings an environment would hold', () => {
  const values = readConfigFile('/c.yaml', reader({
    '/c.yaml': 'SUITECRM_URL: https://crm.example.com\nPROXY_PORT: 9090\nTOKEN_REFRESH_MARGIN_SECONDS: 2.5\nSUITECRM_CLIENT_ID: "007"\nLOG_LEVEL: ~\n',
  }));
  assert.deepEqual(values, {
    SUITECRM_URL: 'https://crm.example.com',
    PROXY_PORT: '9090',
    TOKEN_REFRESH_MARGIN_SECONDS: '2.5',
    SUITECRM_CLIENT_ID: '007',
  });
});

test('JSON files parse with the same rules', () => {
  const values = readConfigFile('/c.json', reader({ '/c.json': '{"SUITECRM_URL": "https://crm.example.com", "PROXY_PORT": 8081}' }));
  assert.deepEqual(values, { SUITECRM_URL: 'https://crm.example.com', PROXY_PORT: '8081' });
});

test('an empty file holds no settings', () => {
  assert.deepEqual(readConfigFile('/c.yaml', reader({ '/c.yaml': '# only comments\n' })), {});
});

test('relative NAME_FILE paths are resolved against the config file directory', () => {
  const values = readConfigFile('/etc/proxy/config.yaml', reader({
    '/etc/proxy/config.yaml': 'SUITECRM_CLIENT_SECRET_FILE: secrets/client\nSUITECRM_PASSWORD_FILE: /run/secrets/pw\n',
  }));
  assert.equal(values.SUITECRM_CLIENT_SECRET_FILE, '/etc/proxy/secrets/client');
  assert.equal(values.SUITECRM_PASSWORD_FILE, '/run/secrets/pw');
});

test('an unknown key is named, with the right spelling suggested', () => {
  const camel = fileError('suitecrmUrl: https://crm.example.com\n');
  assert.equal(camel.setting, 'CONFIG_FILE');
  assert.match(camel.message, /unknown setting "suitecrmUrl"; did you mean SUITECRM_URL\?/);
  const other = fileError('NOT_A_SETTING: 1\n');
  assert.match(other.message, /unknown setting "NOT_A_SETTING" \(keys are the environment variable names/);
  assert.match(fileError('CONFIG_FILE: other.yaml\n').message, /unknown setting "CONFIG_FILE"/);
});

test('syntax errors give the file and line but no excerpt of the content', () => {
  const err = fileError(`SUITECRM_CLIENT_SECRET: ${SECRET}\nPROXY_PORT: [1, 2\n`);
  assert.match(err.message, /^CONFIG_FILE: \/etc\/proxy\/config\.yaml line \d+: not valid JSON or YAML/);
  const dup = fileError(`SUITECRM_CLIENT_SECRET: ${SECRET}\nSUITECRM_CLIENT_SECRET: ${SECRET}\n`);
  assert.match(dup.message, /not valid JSON or YAML/);
});

test('the top level must be a mapping, values must be single values', () => {
  assert.match(fileError('- a\n- b\n').message, /expected a mapping/);
  const nested = fileError('PROXY_PORT:\n  value: 1\n');
  assert.equal(nested.setting, 'PROXY_PORT');
  assert.match(nested.message, /expected a single value, not a mapping/);
  assert.match(fileError('PROXY_HOST: [a, b]\n').message, /not a list/);
});

test('a missing file is reported by path and reason', () => {
  let caught: unknown;
  try {
    readConfigFile('/nope.yaml', reader({}));
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError);
  assert.equal(caught.message, 'CONFIG_FILE: cannot read config file /nope.yaml (ENOENT)');
});

test('the environment overrides the file, NAME and NAME_FILE alike', () => {
  const file = { SUITECRM_URL: 'https://file.example.com', PROXY_PORT: '9000', SUITECRM_CLIENT_SECRET_FILE: '/from/file', LOG_LEVEL: 'debug' };
  const merged = overlayEnv(file, { PROXY_PORT: '9001', SUITECRM_CLIENT_SECRET: 'env-secret', LOG_LEVEL: '' });
  assert.equal(merged.PROXY_PORT, '9001');
  assert.equal(merged.SUITECRM_URL, 'https://file.example.com');
  assert.equal(merged.SUITECRM_CLIENT_SECRET, 'env-secret');
  assert.equal(merged.SUITECRM_CLIENT_SECRET_FILE, undefined, 'the env value replaces the file form too');
  assert.equal(merged.LOG_LEVEL, 'debug', 'an empty env var counts as unset, as in loadConfig');
});

test('values from a file are validated with the same messages as env vars', () => {
  const env = overlayEnv(readConfigFile('/c.yaml', reader({
    '/c.yaml': 'SUITECRM_URL: https://crm.example.com\nSUITECRM_CLIENT_ID: id\nSUITECRM_CLIENT_SECRET_FILE: secret\nPROXY_PORT: 70000\n',
  })), {});
  const files = reader({ '/secret': `${SECRET}\n` });
  assert.throws(() => loadConfig(env, files), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, 'PROXY_PORT: must be between 0 and 65535, got 70000');
    return true;
  });
  const fixed = loadConfig({ ...env, PROXY_PORT: '8090' }, files);
  assert.equal(fixed.port, 8090);
  assert.equal(fixed.credentials[0]?.clientSecret, SECRET);
});
