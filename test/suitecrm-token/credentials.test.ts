/**
 * Several SuiteCRM credentials behind one proxy (issue 13), the real app in-process in front of the
 * SuiteCRM double: three credentials (two client_credentials clients with different associated
 * users, one password-grant user), five callers and the anonymous one mapped onto them
 * (test/support/credentials-fixture.ts). Asserted only through the public contract: settings, HTTP
 * answers, log lines, metrics text and the double's records of whose token each request carried.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Agent } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import { configError } from '../support/config-error.js';
import {
  assertLogNamesCredential, assertNoSecrets, assertRejectedNaming, assertRevocationConfined, assertServedAsTheirCredential, assertTokensMatchCallers,
  CALLERS, credentialOf, CREDENTIAL_NAMES, CREDENTIALS, credentialsEnv, credentialsWith, IDENTITY, INV_SECRET, INVOICER_PASSWORD,
  issuedTokens, mixedBurst, ONE_GRANT_EACH, proxyClients, readiness, requestLines, revokeReportingToken, RO_SECRET, SENDERS,
  startCredentialsDouble, tokenRequestsByClient, WR_SECRET, WRONG_SECRET,
} from '../support/credentials-fixture.js';
import type { FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { parseExposition } from '../support/prometheus-text.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { settledCheck, until } from '../support/wait.js';

interface Scenario {
  readonly fake: FakeSuiteCrm;
  readonly proxy: RunningProxy;
  readonly agent: Agent;
}

async function scenario(t: TestContext, env: Record<string, string> = credentialsEnv()): Promise<Scenario> {
  const fake = await startCredentialsDouble(t);
  const proxy = await startProxy(fake.url, env);
  t.after(() => proxy.close());
  // Hundreds of connections at once on a busy 2-core machine: generous timeouts, this is about counts.
  const agent = new Agent({ connections: 128, connect: { timeout: 60_000 } });
  t.after(() => agent.close());
  return { fake, proxy, agent };
}

function logRecords(proxy: RunningProxy, from = 0): Array<Record<string, unknown>> {
  return proxy.logs.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function metricsText(proxy: RunningProxy): Promise<string> {
  return (await fetch(`${proxy.url}/_proxy/metrics`)).text();
}

const reportingSenders = SENDERS.filter((s) => credentialOf(s.name) === 'reporting-ro');
const otherSenders = SENDERS.filter((s) => credentialOf(s.name) !== 'reporting-ro');

test('300 concurrent cold requests from six callers: one grant per credential, each request with its caller\'s token', async (t) => {
  const { fake, proxy, agent } = await scenario(t);
  // A slow token endpoint keeps every cold request of a credential waiting on the same grant.
  fake.faults.tokenDelayMs = 200;
  const answers = await mixedBurst([proxy.url], 300, agent);
  assertServedAsTheirCredential(answers);
  assert.deepEqual(tokenRequestsByClient(fake), ONE_GRANT_EACH, 'exactly one token request per credential');
  assert.equal(fake.grantsIssued(), 3);
  assert.deepEqual(assertTokensMatchCallers(fake), Object.fromEntries(SENDERS.map((s) => [s.name, 50])), 'a mixed load reached SuiteCRM');

  const lines = requestLines(logRecords(proxy));
  assert.equal(lines.length, 300);
  assertLogNamesCredential(lines);

  const text = await metricsText(proxy);
  const m = parseExposition(text);
  for (const name of CREDENTIAL_NAMES) {
    const grant = IDENTITY[name].grant;
    assert.equal(m.sum('suitecrm_proxy_token_requests_total', { credential: name, grant, outcome: 'success' }), 1, `one ${grant} grant for ${name}`);
    assert.ok(m.sum('suitecrm_proxy_token_expires_in_seconds', { credential: name }) > 3500, `${name} holds a fresh token`);
  }
  assert.equal(m.sum('suitecrm_proxy_token_requests_total'), 3);

  const ready = await readiness(proxy.url, agent);
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(Object.keys(ready.credentials).sort(), CREDENTIAL_NAMES, 'readyz lists every credential');
  for (const name of CREDENTIAL_NAMES) assert.equal(ready.credentials[name]?.status, 'ready', name);
  assertNoSecrets([...proxy.logs, text, ready.text], issuedTokens(fake));
});

test('revoking one credential\'s token replays only its callers\' requests and makes one new grant, for it alone', async (t) => {
  const { fake, proxy, agent } = await scenario(t);
  assertServedAsTheirCredential(await mixedBurst([proxy.url], 12, agent));
  const revocation = revokeReportingToken(fake);
  const logFrom = proxy.logs.length;
  assertServedAsTheirCredential(await mixedBurst([proxy.url], 120, agent));
  assertRevocationConfined(fake, revocation, requestLines(logRecords(proxy, logFrom)));
  assertNoSecrets(proxy.logs, issuedTokens(fake));
});

test('a wrong secret: its callers get CREDENTIALS_REJECTED naming the credential, the others are neither failed nor delayed', async (t) => {
  const { fake, proxy, agent } = await scenario(t, credentialsEnv(credentialsWith('reporting-ro', { clientSecret: WRONG_SECRET })));
  // The rejection is held back until the other callers have been served: they never wait for it.
  let release = (): void => undefined;
  fake.faults.tokenHold = { clientIds: ['ro-client'], until: new Promise<void>((resolve) => (release = resolve)) };
  const waiting = mixedBurst([proxy.url], 10, agent, reportingSenders);
  const waitingSettled = settledCheck(waiting);
  await until('the reporting credential\'s token request at SuiteCRM', () => tokenRequestsByClient(fake)['ro-client'] === 1);
  assertServedAsTheirCredential(await mixedBurst([proxy.url], 40, agent, otherSenders));
  assert.equal(waitingSettled(), false, 'the others were served while the failing credential\'s grant was pending');
  release();

  const rejected = [...(await waiting), ...(await mixedBurst([proxy.url], 10, agent, reportingSenders))];
  assertRejectedNaming(rejected, 'reporting-ro');
  assert.equal(tokenRequestsByClient(fake)['ro-client'], 1, 'SuiteCRM is not asked again at once');
  assertServedAsTheirCredential(await mixedBurst([proxy.url], 20, agent, otherSenders));

  const ready = await readiness(proxy.url, agent);
  assert.deepEqual([ready.status, ready.errorCode], [503, 'CREDENTIALS_REJECTED'], ready.text);
  assert.match(ready.detail, /reporting-ro/);
  assert.equal(ready.credentials['reporting-ro']?.status, 'failing', ready.text);
  assert.deepEqual([ready.credentials.default?.status, ready.credentials.invoicing?.status], ['ready', 'ready'], ready.text);

  const text = await metricsText(proxy);
  const m = parseExposition(text);
  assert.equal(m.sum('suitecrm_proxy_token_requests_total', { credential: 'reporting-ro', outcome: 'rejected' }), 1);
  assert.equal(m.sum('suitecrm_proxy_token_requests_total', { credential: 'reporting-ro', outcome: 'success' }), 0);
  assertLogNamesCredential(requestLines(logRecords(proxy)));
  assertNoSecrets([...proxy.logs, ...rejected.map((a) => a.text), ready.text, text], issuedTokens(fake));
});

test('SUITECRM_CREDENTIALS_FILE, clientSecretFile and passwordFile are read; grantType defaults to client_credentials', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'credentials-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const credentials = {
    'reporting-ro': { clientId: 'ro-client', clientSecretFile: file('ro-secret', `${RO_SECRET}\n`) },
    invoicing: {
      grantType: 'password', clientId: 'inv-client', clientSecretFile: file('inv-secret', INV_SECRET),
      username: 'invoicer', passwordFile: file('invoicer-password', `${INVOICER_PASSWORD}\n`),
    },
  };
  const { SUITECRM_CREDENTIALS: _inline, ...env } = credentialsEnv();
  const { fake, proxy, agent } = await scenario(t, { ...env, SUITECRM_CREDENTIALS_FILE: file('credentials.json', JSON.stringify(credentials)) });
  assertServedAsTheirCredential(await mixedBurst([proxy.url], 12, agent));
  assert.deepEqual(tokenRequestsByClient(fake), ONE_GRANT_EACH);
  assertTokensMatchCallers(fake);
  assertNoSecrets(proxy.logs, issuedTokens(fake));
});

const SECRETS = [RO_SECRET, WR_SECRET, INV_SECRET, INVOICER_PASSWORD, ...CALLERS.map((c) => c.key!)];
const URL_ONLY = { SUITECRM_URL: 'https://crm.example.com' };
/** Every credential named by a caller, none from the SUITECRM_* settings. */
const WITHOUT_DEFAULT = { ...URL_ONLY, SUITECRM_CREDENTIALS: JSON.stringify(CREDENTIALS) };
const mappedCallers = CALLERS.filter((c) => c.suitecrm !== undefined);

test('bad credentials stop the start-up with the credential and the field named, never a secret', () => {
  const { invoicing } = CREDENTIALS;
  const { password: _password, ...withoutPassword } = invoicing!;
  const { username: _username, ...withoutUsername } = invoicing!;
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown field', credentialsWith('reporting-ro', { clientSecrt: RO_SECRET }), /reporting-ro.*clientSecrt|clientSecrt.*reporting-ro/],
    ['an unknown grant type', credentialsWith('invoicing', { grantType: 'implicit' }), /invoicing.*grantType|grantType.*invoicing/],
    ['a password grant without username', { ...CREDENTIALS, invoicing: withoutUsername }, /invoicing.*username|username.*invoicing/],
    ['an unreadable passwordFile', { ...CREDENTIALS, invoicing: { ...withoutPassword, passwordFile: '/run/secrets/none' } }, /invoicing.*passwordFile|passwordFile.*invoicing/],
    ['both password and passwordFile', credentialsWith('invoicing', { passwordFile: '/run/secrets/invoicer' }), /invoicing.*password/],
    ['a name outside the caller-name rules', { ...CREDENTIALS, 'has space': CREDENTIALS['reporting-ro'] }, /has space|name must/],
  ];
  for (const [what, credentials, expected] of cases) {
    const err = configError({ ...URL_ONLY, ...credentialsEnv(credentials) }, { '/run/secrets/invoicer': INVOICER_PASSWORD }, SECRETS);
    assert.equal(err.setting, 'SUITECRM_CREDENTIALS', `${what}: ${err.message}`);
    assert.match(err.message, expected, what);
  }
});

test('a caller naming an unknown credential, or left without one, stops the start-up naming the caller', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['an unknown credential', { ...URL_ONLY, ...credentialsEnv(), PROXY_CLIENTS: proxyClients([{ ...CALLERS[0]!, suitecrm: 'reportng' }]) }, /report-daily/],
    ['no default for a caller without "suitecrm"', { ...WITHOUT_DEFAULT, PROXY_CLIENTS: proxyClients([...mappedCallers, CALLERS[3]!]) }, /writer-svc/],
    ['no default for the anonymous caller (no PROXY_CLIENTS)', WITHOUT_DEFAULT, /anonymous/],
    ['no default for the anonymous caller (PROXY_ALLOW_UNAUTHENTICATED)', { ...WITHOUT_DEFAULT, PROXY_CLIENTS: proxyClients(mappedCallers), PROXY_ALLOW_UNAUTHENTICATED: 'true' }, /anonymous/],
  ];
  for (const [what, env, expected] of cases) assert.match(configError(env, {}, SECRETS).message, expected, what);
  assert.match(configError(cases[0]![1], {}, SECRETS).message, /reportng/, 'the unknown credential is named too');
  // Without any caller that needs it, no default credential is needed.
  assert.doesNotThrow(() => loadConfig({ ...WITHOUT_DEFAULT, PROXY_CLIENTS: proxyClients(mappedCallers) }));
});
