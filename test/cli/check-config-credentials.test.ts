/**
 * `--check-config` with several SuiteCRM credentials (issue 13), the real CLI against the SuiteCRM
 * double: every credential is checked under its own header line with its own token request and
 * V8 call, the result names the failing ones, a refresh_token credential is left untried (trying
 * it would spend the refresh token), and no secret of any credential reaches the output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runMain, type Run } from '../support/cli-run.js';
import {
  assertNoSecrets, CREDENTIALS, credentialsWith, DEFAULT_ENV, INV_SECRET, RO_SECRET, startCredentialsDouble, tokenRequestsByClient, WRONG_SECRET,
} from '../support/credentials-fixture.js';
import type { FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { claimsOf } from '../support/jwt.js';

const TOKEN_OK_CC = /^token: ok in \d+ ms; grant client_credentials; expires_in 3600 s; refresh token not issued$/;
const API_OK = /^api: GET \/Api\/V8\/meta\/modules answered 200 in \d+ ms: ok$/;
const REFRESH_TOKEN = 'CRED-refresh-not-spent-Wp3nE8';

async function checkConfig(t: TestContext, credentials: Readonly<Record<string, unknown>>): Promise<{ fake: FakeSuiteCrm; run: Run }> {
  const fake = await startCredentialsDouble(t);
  const run = await runMain(['--check-config'], { ...DEFAULT_ENV, SUITECRM_URL: fake.url, SUITECRM_CREDENTIALS: JSON.stringify(credentials) });
  assert.equal(run.stderr, '');
  assertNoSecrets([run.stdout, run.stderr], [REFRESH_TOKEN]);
  assert.ok(!/eyJ[\w-]{10,}/.test(run.stdout), 'no token in the output');
  return { fake, run };
}

/** The lines under each `credential "<name>":` header, up to the next header or the result line. */
function sections(stdout: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const header = /^credential "([^"]+)":$/.exec(line);
    if (header) found.set(header[1]!, (current = []));
    else if (line.startsWith('result: ')) current = undefined;
    else current?.push(line);
  }
  return found;
}

function lastLine(run: Run): string | undefined {
  return run.stdout.split('\n').filter((l) => l !== '').at(-1);
}

function assertChecked(lines: readonly string[] | undefined, client: string, tokenOk: RegExp = TOKEN_OK_CC): void {
  assert.ok(lines, 'the credential has its section');
  assert.ok(lines.some((l) => l.startsWith('token: POST ') && l.includes(`client ${client}`)), lines.join('\n'));
  assert.ok(lines.some((l) => tokenOk.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => API_OK.test(l)), lines.join('\n'));
}

/** The client each V8 check call's token was issued to (the JWT's aud), in order. */
function apiCallClients(fake: FakeSuiteCrm): string[] {
  return fake.requests.filter((r) => r.path === '/Api/V8/meta/modules').map((r) => claimsOf(String(r.headers.authorization)).aud);
}

test('--check-config with default and two named credentials, one with a wrong secret: exit 1, the result names it', async (t) => {
  const { fake, run } = await checkConfig(t, credentialsWith('invoicing', { clientSecret: WRONG_SECRET }));
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stdout, /^credentials: default, reporting-ro, invoicing \(each is checked below\)$/m);
  const checked = sections(run.stdout);
  assert.deepEqual([...checked.keys()], ['default', 'reporting-ro', 'invoicing'], 'one header line per credential');
  assertChecked(checked.get('default'), 'wr-client');
  assertChecked(checked.get('reporting-ro'), 'ro-client');
  const bad = checked.get('invoicing')!;
  // The detail points at the credential's own fields, not at the SUITECRM_* settings of default.
  assert.ok(bad.some((l) => /^token: FAILED \(rejected: invalid_client, HTTP 401\): SuiteCRM credential "invoicing": .*\bclientSecret\b/.test(l)), bad.join('\n'));
  assert.ok(!bad.some((l) => l.includes('SUITECRM_CLIENT_SECRET')), bad.join('\n'));
  assert.ok(!bad.some((l) => /^token: ok/.test(l)));
  assert.ok(bad.includes('api: not tried (no token)'));
  assert.equal(lastLine(run), 'result: FAILED ("invoicing")');
  assert.deepEqual(tokenRequestsByClient(fake), { 'wr-client': 1, 'ro-client': 1, 'inv-client': 1 }, 'one token request per credential');
  assert.deepEqual(apiCallClients(fake), ['wr-client', 'ro-client'], 'each check called the API with its own credential\'s token');
});

test('--check-config with every credential valid: exit 0, result: OK', async (t) => {
  const { fake, run } = await checkConfig(t, CREDENTIALS);
  assert.equal(run.code, 0, run.stdout);
  const checked = sections(run.stdout);
  assert.deepEqual([...checked.keys()], ['default', 'reporting-ro', 'invoicing']);
  assertChecked(checked.get('default'), 'wr-client');
  assertChecked(checked.get('reporting-ro'), 'ro-client');
  // The password grant's token comes with a refresh token; its value stays out of the output (assertNoSecrets: def50200...).
  assertChecked(checked.get('invoicing'), 'inv-client, user invoicer', /^token: ok in \d+ ms; grant password; expires_in 3600 s; refresh token issued$/);
  assert.equal(lastLine(run), 'result: OK');
  assert.deepEqual(apiCallClients(fake), ['wr-client', 'ro-client', 'inv-client']);
});

test('--check-config does not try a refresh_token credential, and it does not fail the result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'check-credentials-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ro-secret'), `${RO_SECRET}\n`);
  const { fake, run } = await checkConfig(t, {
    'reporting-ro': { grantType: 'client_credentials', clientId: 'ro-client', clientSecretFile: join(dir, 'ro-secret') },
    renewing: { grantType: 'refresh_token', clientId: 'inv-client', clientSecret: INV_SECRET, refreshToken: REFRESH_TOKEN },
  });
  assert.equal(run.code, 0, run.stdout);
  const checked = sections(run.stdout);
  assert.deepEqual([...checked.keys()], ['default', 'reporting-ro', 'renewing']);
  assertChecked(checked.get('reporting-ro'), 'ro-client');
  assert.deepEqual(checked.get('renewing')?.filter((l) => l !== ''),
    ['token: not tried: a refresh_token grant would spend SUITECRM_CREDENTIALS "renewing".refreshToken (SuiteCRM rotates it on use)']);
  assert.equal(lastLine(run), 'result: OK (settings valid; token request not tried for a refresh_token grant)');
  assert.deepEqual(tokenRequestsByClient(fake), { 'wr-client': 1, 'ro-client': 1 }, 'the refresh token was not spent');
  assert.equal(fake.tokenRequestCount('refresh_token'), 0);
});
