/**
 * Issue 22, point 5: a relative `*File` path inside PROXY_CLIENTS or SUITECRM_CREDENTIALS is read
 * from the folder of the file it is written in (the config file, or the file a `_FILE` setting
 * names); only a path written in an environment variable is read from the working directory. And
 * `--check-config` warns about plain-text secrets only when the config file holds one itself.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256 } from '../../src/config/secret-text.js';
import { readText } from '../../src/config/values.js';
import { readSnapshot } from '../../src/reload/snapshot.js';
import { runMain } from '../support/cli-run.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';

const ETL_KEY = 'paths-key-etl-8d2f6b1a';
const RO_SECRET = 'cc-secret-S3cr3t!';

let dir: string;
let crm: FakeSuiteCrm;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'config-paths-'));
  mkdirSync(join(dir, 'conf', 'keys'), { recursive: true });
  mkdirSync(join(dir, 'conf', 'secrets'), { recursive: true });
  writeFileSync(join(dir, 'conf', 'keys', 'etl'), `${ETL_KEY}\n`);
  writeFileSync(join(dir, 'conf', 'secrets', 'ro'), `${RO_SECRET}\n`);
  crm = await startFakeSuiteCrm();
});
after(async () => {
  await crm.close();
  rmSync(dir, { recursive: true, force: true });
});

const clients = (keyFile: string) => [{ name: 'etl', keyFile, suitecrm: 'reporting' }];
const credentials = (clientSecretFile: string) => ({ reporting: { clientId: 'cc-client', clientSecretFile } });

/** The config file's settings, YAML-ready (JSON is YAML). */
function writeYaml(path: string, settings: Record<string, unknown>): void {
  writeFileSync(path, Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n'), { mode: 0o600 });
}

function load(env: Record<string, string>) {
  return readSnapshot({ env: { SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: RO_SECRET, ...env }, configPath: undefined }, readText).config;
}

describe('relative *File paths inside PROXY_CLIENTS and SUITECRM_CREDENTIALS', () => {
  test('written in a config file: read from the config file\'s folder, not the working directory', () => {
    const config = join(dir, 'conf', 'proxy.yaml');
    writeYaml(config, { PROXY_CLIENTS: clients('keys/etl'), SUITECRM_CREDENTIALS: credentials('./secrets/ro') });
    assert.notEqual(process.cwd(), join(dir, 'conf'));
    const loaded = load({ CONFIG_FILE: config });
    assert.deepEqual(loaded.security.clients?.[0]?.keyDigest, sha256(ETL_KEY));
    assert.equal(loaded.credentials.find((c) => c.name === 'reporting')?.clientSecret, RO_SECRET);
  });

  test('in a file named by PROXY_CLIENTS_FILE or SUITECRM_CREDENTIALS_FILE: read from that file\'s folder', () => {
    writeFileSync(join(dir, 'conf', 'clients.json'), JSON.stringify(clients('keys/etl')));
    writeFileSync(join(dir, 'conf', 'credentials.json'), JSON.stringify(credentials('secrets/ro')));
    const loaded = load({ PROXY_CLIENTS_FILE: join(dir, 'conf', 'clients.json'), SUITECRM_CREDENTIALS_FILE: join(dir, 'conf', 'credentials.json') });
    assert.deepEqual(loaded.security.clients?.[0]?.keyDigest, sha256(ETL_KEY));
    assert.equal(loaded.credentials.find((c) => c.name === 'reporting')?.clientSecret, RO_SECRET);
  });

  test('written in an environment variable: read from the working directory', () => {
    const fromCwd = (path: string): string => relative(process.cwd(), path);
    const loaded = load({
      PROXY_CLIENTS: JSON.stringify(clients(fromCwd(join(dir, 'conf', 'keys', 'etl')))),
      SUITECRM_CREDENTIALS: JSON.stringify(credentials(fromCwd(join(dir, 'conf', 'secrets', 'ro')))),
    });
    assert.deepEqual(loaded.security.clients?.[0]?.keyDigest, sha256(ETL_KEY));
    assert.equal(loaded.credentials.find((c) => c.name === 'reporting')?.clientSecret, RO_SECRET);
    // The same relative path in a variable does not reach into the config folder.
    assert.throws(() => load({ PROXY_CLIENTS: JSON.stringify(clients('keys/etl')) }), /caller "etl"\.keyFile: cannot read keys\/etl \(ENOENT\)/);
  });
});

describe('--check-config and plain-text secrets', () => {
  const check = (config: string) => runMain(['--check-config', '--config', config], {});
  const warnings = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith('warning:'));

  test('no warning when every secret in the config file comes from a file', async () => {
    writeFileSync(join(dir, 'conf', 'store.key'), 'a'.repeat(64));
    const config = join(dir, 'conf', 'files-only.yaml');
    writeYaml(config, {
      SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET_FILE: 'secrets/ro',
      PROXY_CLIENTS: clients('keys/etl'), SUITECRM_CREDENTIALS: credentials('secrets/ro'),
      TOKEN_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379', TOKEN_STORE_KEY_FILE: 'store.key',
    });
    const run = await check(config);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(warnings(run.stdout), []);
  });

  test('a key, a client secret or a Redis password written into the file is still named', async () => {
    const config = join(dir, 'conf', 'inline.yaml');
    writeYaml(config, {
      SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET_FILE: 'secrets/ro',
      PROXY_CLIENTS: [{ name: 'etl', key: ETL_KEY, suitecrm: 'reporting' }], SUITECRM_CREDENTIALS: credentials('secrets/ro'),
      TOKEN_STORE: 'redis', REDIS_URL: 'redis://:S3cr3tRedisPass@127.0.0.1:6379', TOKEN_STORE_KEY_FILE: 'store.key',
    });
    const run = await check(config);
    assert.deepEqual(warnings(run.stdout), [`warning: ${config} holds PROXY_CLIENTS, REDIS_URL in plain text; prefer PROXY_CLIENTS_FILE naming a file only the proxy can read`]);
    assert.ok(!run.stdout.includes(ETL_KEY) && !run.stdout.includes('S3cr3tRedisPass'), 'no secret in the output');
  });
});
