/**
 * The CLI as users run it: real `node dist/src/main.js` processes against the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runMain, type Run } from '../support/cli-run.js';
import { startFakeSuiteCrm } from '../support/fake-suitecrm/server.js';
import { DEFAULT_CLIENTS, DEFAULT_USERS, type FakeSuiteCrm } from '../support/fake-suitecrm/types.js';
import { freePort } from '../support/free-port.js';
import { makeTestPki, startTlsForwarder } from '../support/tls.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const CC = DEFAULT_CLIENTS.find((c) => c.grant === 'client_credentials')!;
const PW = DEFAULT_CLIENTS.find((c) => c.grant === 'password')!;
const USER = DEFAULT_USERS[0]!;
const WRONG_SECRET = 'wrong-Secret-Qx7!zz';
const WRONG_PASSWORD = 'wrong-P4ss-Vb9!yy';
const SECRETS = [CC.secret, PW.secret, USER.password, WRONG_SECRET, WRONG_PASSWORD];

let crm: FakeSuiteCrm;
let dir: string;
before(async () => {
  crm = await startFakeSuiteCrm();
  dir = mkdtempSync(join(tmpdir(), 'cli-process-'));
  writeFileSync(join(dir, 'cc-secret'), `${CC.secret}\n`);
});
after(async () => {
  await crm.close();
  rmSync(dir, { recursive: true, force: true });
});

function assertNoSecrets(run: Run): void {
  const all = run.stdout + run.stderr;
  for (const secret of SECRETS) assert.ok(!all.includes(secret), 'no secret in the output');
  assert.ok(!/eyJ[\w-]{10,}/.test(all), 'no token in the output');
}

function ccEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: CC.id, SUITECRM_CLIENT_SECRET_FILE: join(dir, 'cc-secret'), ...extra };
}

test('--check-config with a good config file: exit 0, grant, TTL and the API answer, no secret', async () => {
  const config = join(dir, 'good.yaml');
  writeFileSync(config, `SUITECRM_URL: ${crm.url}\nSUITECRM_CLIENT_ID: ${CC.id}\nSUITECRM_CLIENT_SECRET_FILE: cc-secret\n`);
  const run = await runMain(['--check-config', '--config', config], {});
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const lines = run.stdout.split('\n');
  assert.ok(lines[0]?.startsWith(`config: ok; settings from config file ${config}`), lines[0]);
  assert.ok(lines.includes(`  SUITECRM_CLIENT_SECRET_FILE=${join(dir, 'cc-secret')}  [config file]`), run.stdout);
  assert.ok(lines.some((l) => /^token: ok in \d+ ms; grant client_credentials; expires_in 3600 s; refresh token not issued$/.test(l)), run.stdout);
  assert.ok(lines.some((l) => /^api: GET \/Api\/V8\/meta\/modules answered 200 in \d+ ms: ok$/.test(l)), run.stdout);
  assert.equal(lines.at(-2), 'result: OK');
  assert.equal(run.stderr, '');
  assertNoSecrets(run);
  assert.ok(crm.requests.some((r) => r.path === '/Api/V8/meta/modules' && r.status === 200));
});

test('--check-config warns about a secret written into a readable config file, without showing it', async () => {
  const config = join(dir, 'inline.yaml');
  writeFileSync(config, `SUITECRM_URL: ${crm.url}\nSUITECRM_CLIENT_ID: ${CC.id}\nSUITECRM_CLIENT_SECRET: "${CC.secret}"\n`, { mode: 0o644 });
  chmodSync(config, 0o644);
  const run = await runMain(['--check-config', '--config', config], {});
  assert.equal(run.code, 0, run.stdout);
  assert.ok(run.stdout.includes(`warning: ${config} holds SUITECRM_CLIENT_SECRET in plain text and the file is readable by every user (mode 644); prefer SUITECRM_CLIENT_SECRET_FILE`), run.stdout);
  assertNoSecrets(run);
});

test('--check-config with the password grant reports the refresh token', async () => {
  const run = await runMain(['--check-config'], {
    SUITECRM_URL: crm.url, SUITECRM_GRANT_TYPE: 'password', SUITECRM_CLIENT_ID: PW.id, SUITECRM_CLIENT_SECRET: PW.secret,
    SUITECRM_USERNAME: USER.username, SUITECRM_PASSWORD: USER.password,
  });
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /^token: ok in \d+ ms; grant password; expires_in 3600 s; refresh token issued$/m);
  assert.match(run.stdout, /^ {2}SUITECRM_PASSWORD=\(secret, set\) {2}\[environment\]$/m);
  assertNoSecrets(run);
});

test('--check-config with a wrong client secret: exit 1, names the setting, never the secret', async () => {
  const run = await runMain(['--check-config'], { SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: CC.id, SUITECRM_CLIENT_SECRET: WRONG_SECRET });
  assert.equal(run.code, 1);
  assert.match(run.stdout, /^token: FAILED \(rejected: invalid_client, HTTP 401\): .*SUITECRM_CLIENT_SECRET/m);
  assert.match(run.stdout, /^api: not tried \(no token\)$/m);
  assert.match(run.stdout, /^result: FAILED$/m);
  assertNoSecrets(run);
});

test('--check-config with a wrong password: SuiteCRM echoes it, the output does not', async () => {
  const run = await runMain(['--check-config'], {
    SUITECRM_URL: crm.url, SUITECRM_GRANT_TYPE: 'password', SUITECRM_CLIENT_ID: PW.id, SUITECRM_CLIENT_SECRET: PW.secret,
    SUITECRM_USERNAME: USER.username, SUITECRM_PASSWORD: WRONG_PASSWORD,
  });
  assert.equal(run.code, 1);
  assert.match(run.stdout, /^token: FAILED \(rejected: wrong_password, HTTP 500\): .*SUITECRM_PASSWORD/m);
  assertNoSecrets(run);
});

test('--check-config with a bad setting: non-zero exit, one line naming it', async () => {
  const run = await runMain(['--check-config'], ccEnv({ PROXY_PORT: 'eighty' }));
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.deepEqual(run.stderr.split('\n').filter((l) => l !== ''), ['suitecrm-auth-proxy: invalid configuration: PROXY_PORT: expected a whole number, got "eighty"']);
  const start = await runMain([], ccEnv({ SUITECRM_GRANT_TYPE: 'implicit' }));
  assert.equal(start.code, 2, 'starting with a bad setting exits 2');
  assert.deepEqual(start.stderr.split('\n').filter((l) => l !== ''), ['suitecrm-auth-proxy: invalid configuration: SUITECRM_GRANT_TYPE: expected one of client_credentials, password, refresh_token, got "implicit"']);
});

test('--check-config when the API refuses the fresh token, and when SuiteCRM is down', async () => {
  crm.faults.rejectAllTokens = true;
  try {
    const rejected = await runMain(['--check-config'], ccEnv());
    assert.equal(rejected.code, 1);
    assert.match(rejected.stdout, /^token: ok/m);
    assert.match(rejected.stdout, /^api: GET \/Api\/V8\/meta\/modules answered 401 in \d+ ms: FAILED: SuiteCRM issued a token but the V8 API refused it/m);
  } finally {
    crm.faults.rejectAllTokens = false;
  }
  const closed = await freePort();
  const down = await runMain(['--check-config'], ccEnv({ SUITECRM_URL: `http://127.0.0.1:${closed}` }));
  assert.equal(down.code, 1);
  assert.match(down.stdout, /^token: FAILED \(transient: ECONNREFUSED\): .*check SUITECRM_URL/m);
  assertNoSecrets(down);
});

test('--check-config does not spend a refresh token', async () => {
  const before = crm.tokenRequestCount();
  const run = await runMain(['--check-config'], ccEnv({ SUITECRM_GRANT_TYPE: 'refresh_token', SUITECRM_REFRESH_TOKEN: 'def50200-not-spent' }));
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /^token: not tried: a refresh_token grant would spend SUITECRM_REFRESH_TOKEN/m);
  assert.equal(crm.tokenRequestCount(), before);
  assert.ok(!run.stdout.includes('def50200-not-spent'));
});

test('the proxy starts from a config file, with the environment overriding it', async (t) => {
  const port = await freePort();
  const config = join(dir, 'start.json');
  // The file's port is unusable: the proxy only starts because the environment overrides it.
  writeFileSync(config, JSON.stringify({ SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: CC.id, SUITECRM_CLIENT_SECRET_FILE: 'cc-secret', PROXY_PORT: 'from-file', LOG_LEVEL: 'warn' }));
  const child = spawn(process.execPath, [MAIN, '--config', config], {
    env: { PATH: process.env.PATH ?? '', PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((done) => child.on('close', done));
  t.after(() => child.kill('SIGKILL'));

  let status = 0;
  for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
    status = await fetch(`http://127.0.0.1:${port}/Api/V8/meta/modules`).then(async (r) => (await r.arrayBuffer(), r.status), () => 0);
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 200, output);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  for (const secret of SECRETS) assert.ok(!output.includes(secret));
});

test('--check-config uses the proxy TLS settings: a private CA via SUITECRM_CA_FILE, and says so', async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.remove());
  const https = await startTlsForwarder(pki, crm.port);
  t.after(() => https.close());
  const url = `https://127.0.0.1:${https.port}`;

  const trusted = await runMain(['--check-config'], ccEnv({ SUITECRM_URL: url, SUITECRM_CA_FILE: pki.caFile }));
  assert.equal(trusted.code, 0, trusted.stdout);
  assert.match(trusted.stdout, /^tls: certificates verified against the public CAs and SUITECRM_CA_FILE$/m);
  assert.match(trusted.stdout, /^result: OK$/m);

  const untrusted = await runMain(['--check-config'], ccEnv({ SUITECRM_URL: url }));
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stdout, /^token: FAILED .*SUITECRM_CA_FILE/m);

  const insecure = await runMain(['--check-config'], ccEnv({ SUITECRM_URL: url, SUITECRM_TLS_INSECURE: 'true' }));
  assert.equal(insecure.code, 0, insecure.stdout);
  assert.match(insecure.stdout, /^tls: WARNING: SUITECRM_TLS_INSECURE=true, SuiteCRM's certificate is NOT verified$/m);
  for (const run of [trusted, untrusted, insecure]) assertNoSecrets(run);
});
