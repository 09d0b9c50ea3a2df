/**
 * PROXY_WORKERS=2 with two SuiteCRM credentials (issue 13), the real process group in front of the
 * SuiteCRM double: two client_credentials clients whose associated users differ, `default` from
 * the SUITECRM_* settings and `reporting-ro` from SUITECRM_CREDENTIALS, one caller on each. The
 * primary owns one token per credential and hands each to both workers: a cold burst makes one
 * grant per credential, every request reaches SuiteCRM with its caller's client's token, and a
 * revoked token renews only its own credential. Whose token a request carried is read from the
 * JWT the double recorded in its Authorization header.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Agent } from 'undici';
import {
  assertLogNamesCredential, assertNoSecrets, assertServedAsTheirCredential, CALLERS, credentialOf, CREDENTIALS, DEFAULT_ENV, IDENTITY,
  issuedTokens, mixedBurst, proxyClients, requestLines, startCredentialsDouble, tokenRequestsByClient, type Sender,
} from '../support/credentials-fixture.js';
import type { FakeSuiteCrm, RecordedRequest } from '../support/fake-suitecrm.js';
import { claimsOf } from '../support/jwt.js';
import { startProxyProcess, type ProxyProcess } from '../support/proxy-process.js';
import { until } from '../support/wait.js';

const caller = (name: string): Sender => CALLERS.find((c) => c.name === name)!;
/** On `default` (wr-client, user u-writer) and on `reporting-ro` (ro-client, user u-reporter); both send X-Proxy-Key. */
const WRITER = caller('sync-job');
const REPORTER = caller('report-daily');
/** Two of each in turn, so which caller a request is does not follow which worker its connection landed on. */
const SENDERS: readonly Sender[] = [WRITER, WRITER, REPORTER, REPORTER];

async function startGroup(t: TestContext, fake: FakeSuiteCrm): Promise<ProxyProcess> {
  const group = await startProxyProcess({
    ...DEFAULT_ENV, SUITECRM_URL: fake.url, PROXY_WORKERS: '2',
    SUITECRM_CREDENTIALS: JSON.stringify({ 'reporting-ro': CREDENTIALS['reporting-ro'] }),
    PROXY_CLIENTS: proxyClients([WRITER, REPORTER]),
  });
  t.after(async () => {
    group.child.kill('SIGTERM');
    await group.exited;
  });
  const listening = (): number => group.logs().filter((l) => String(l.msg).startsWith('Server listening')).length;
  await until('both workers listening', () => listening() === 2, 30_000);
  return group;
}

/** The caller a recorded request was sent as (callAs puts it in the query string). */
function callerOf(record: RecordedRequest): string {
  return new URL(record.path, 'http://double').searchParams.get('caller') ?? '(none)';
}

/**
 * Every request among `records` carried a token the double issued to its caller's client: the JWT's
 * `aud` (read from the recorded Authorization header) is that client, and its `jti` is the one the
 * double recorded. Returns the tokens (jti) each client's requests carried, and requests per caller.
 */
function assertTokensOfCallersClients(records: readonly RecordedRequest[]): { jtisByClient: Record<string, string[]>; perCaller: Record<string, number> } {
  const jtis: Record<string, Set<string>> = {};
  const perCaller: Record<string, number> = {};
  const mixUps: string[] = [];
  for (const record of records) {
    const name = callerOf(record);
    perCaller[name] = (perCaller[name] ?? 0) + 1;
    const claims = claimsOf(String(record.headers.authorization ?? ''));
    assert.equal(claims.jti, record.tokenJti, 'the double recorded the jti of the token in the header');
    (jtis[claims.aud] ??= new Set()).add(claims.jti);
    const expected = IDENTITY[credentialOf(name)].clientId;
    if (claims.aud !== expected) mixUps.push(`#${record.seq} ${name}: a token of ${claims.aud}, not of ${expected}`);
  }
  assert.deepEqual(mixUps, [], 'a request reached SuiteCRM with another credential\'s token');
  const jtisByClient = Object.fromEntries(Object.entries(jtis).map(([client, set]) => [client, [...set]]));
  return { jtisByClient, perCaller };
}

/** The request log lines once `count` of them are there (workers write them after answering). */
async function requestLog(group: ProxyProcess, count: number): Promise<Array<Record<string, unknown>>> {
  await until(`${count} request log lines`, () => requestLines(group.logs()).length >= count, 30_000);
  return requestLines(group.logs());
}

interface Group {
  readonly fake: FakeSuiteCrm;
  readonly group: ProxyProcess;
  readonly agent: Agent;
}

/** 200 concurrent cold requests: one grant per credential, each request with its caller's token; returns default's token (jti). */
async function coldBurst({ fake, group, agent }: Group): Promise<string> {
  // A slow token endpoint keeps every cold request of both workers waiting on the primary's one grant.
  fake.faults.tokenDelayMs = 200;
  const answers = await mixedBurst([group.url], 200, agent, SENDERS);
  fake.faults.tokenDelayMs = undefined;
  assertServedAsTheirCredential(answers);
  assert.deepEqual(tokenRequestsByClient(fake), { 'wr-client': 1, 'ro-client': 1 }, 'exactly one token request per credential');
  assert.equal(fake.grantsIssued('client_credentials'), 2);

  const { jtisByClient, perCaller } = assertTokensOfCallersClients(fake.requests);
  assert.deepEqual(perCaller, { 'sync-job': 100, 'report-daily': 100 });
  assert.deepEqual(Object.keys(jtisByClient).sort(), ['ro-client', 'wr-client']);
  for (const [client, jtis] of Object.entries(jtisByClient)) assert.equal(jtis.length, 1, `every request of ${client} carried its one token`);

  const lines = await requestLog(group, 200);
  assertLogNamesCredential(lines);
  const served = new Set(lines.map((l) => `worker ${String(l.worker)}: ${String(l.credential)}`));
  assert.deepEqual([...served].sort(), ['worker 1: default', 'worker 1: reporting-ro', 'worker 2: default', 'worker 2: reporting-ro'],
    'both workers served both credentials');
  // The primary's lines reach its stdout on their own schedule (pino writes asynchronously): wait for them.
  const tokenLines = () => group.logs().filter((l) => l.event === 'token_obtained');
  await until('the primary\'s token_obtained lines', () => tokenLines().length >= 2, 10_000);
  const obtained = tokenLines();
  assert.equal(obtained.length, 2, 'one token obtained per credential');
  assert.deepEqual(obtained.map((l) => l.worker), [undefined, undefined], 'by the primary, not by a worker');
  return jtisByClient['wr-client']![0]!;
}

/** After coldBurst: reporting-ro's token revoked at the double, then a burst of 100. */
async function revocation({ fake, group, agent }: Group, defaultJti: string): Promise<void> {
  const tokenFrom = fake.tokenRequests.length;
  const requestFrom = fake.requests.length;
  const reporting = fake.requests.find((r) => claimsOf(String(r.headers.authorization)).aud === 'ro-client');
  assert.ok(reporting, 'the reporting credential has a token');
  const revoked = String(reporting.headers.authorization).replace(/^Bearer /, '');
  fake.revokeAccessToken(revoked);

  const answers = await mixedBurst([group.url], 100, agent, SENDERS);
  assertServedAsTheirCredential(answers);
  assert.deepEqual(tokenRequestsByClient(fake, tokenFrom), { 'ro-client': 1 }, 'one new grant, for the revoked credential alone');

  const after = fake.requests.slice(requestFrom);
  const refused = after.filter((r) => r.status === 401);
  assert.ok(refused.length > 0, 'SuiteCRM refused the revoked token');
  assert.deepEqual([...new Set(refused.map((r) => claimsOf(String(r.headers.authorization)).jti))], [claimsOf(revoked).jti],
    'only the revoked token was refused');
  const { jtisByClient } = assertTokensOfCallersClients(after);
  assert.deepEqual(jtisByClient['wr-client'], [defaultJti], 'default kept its one token');
  assert.equal(jtisByClient['ro-client']?.length, 2, 'reporting-ro: the revoked token, then its one new token');

  const lines = (await requestLog(group, 300)).slice(200);
  assert.deepEqual(lines.map((l) => l.status).filter((s) => s !== 200), [], 'every answer was 200');
  const replayedBy = new Set(lines.filter((l) => l.replayed === true).map((l) => String(l.caller)));
  assert.deepEqual([...replayedBy], [REPORTER.name], 'only the revoked credential\'s caller had requests replayed');
}

test('PROXY_WORKERS=2 with two credentials: one token per credential for the group, each request with its caller\'s', async (t) => {
  const fake = await startCredentialsDouble(t);
  const group = await startGroup(t, fake);
  // Hundreds of connections at once on a busy 2-core machine: generous timeouts, this is about counts.
  const agent = new Agent({ connections: 128, connect: { timeout: 60_000 } });
  t.after(() => agent.close());
  let defaultJti = '';
  await t.test('a cold burst of 200 over both callers and both workers: one grant per credential', async () => {
    defaultJti = await coldBurst({ fake, group, agent });
  });
  await t.test('revoking reporting-ro\'s token: one new grant for it alone, default keeps its token', () => revocation({ fake, group, agent }, defaultJti));
  const texts = [...group.logs().map((l) => JSON.stringify(l)), group.stderr()];
  assertNoSecrets(texts, issuedTokens(fake));
});
