/**
 * Several SuiteCRM credentials across a fleet (issue 13): three proxy processes
 * (`node dist/src/main.js`) with TOKEN_STORE=redis on one real redis-server, in front of the
 * SuiteCRM double, with the three credentials and five callers (plus the anonymous one) of
 * test/support/credentials-fixture.ts. The fleet makes one grant per credential, sends every
 * request with its caller's credential's token, renews a revoked credential once for the whole
 * fleet, and keeps a wrong secret's failure to that credential's callers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { Agent } from 'undici';
import {
  assertLogNamesCredential, assertNoSecrets, assertRejectedNaming, assertRevocationConfined, assertServedAsTheirCredential, assertTokensMatchCallers,
  credentialOf, CREDENTIALS, credentialsEnv, credentialsWith, issuedTokens, mixedBurst, ONE_GRANT_EACH, parseJson, readiness, requestLines,
  revokeReportingToken, SENDERS, startCredentialsDouble, tokenRequestsByClient, WRONG_SECRET,
} from '../support/credentials-fixture.js';
import type { FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startReplicas, type ProxyReplica } from '../support/proxy-replica.js';
import { adminClient, needRedis, startRedis } from '../support/redis-server.js';
import { until } from '../support/wait.js';

interface Fleet {
  readonly fake: FakeSuiteCrm;
  readonly replicas: ProxyReplica[];
  readonly urls: string[];
  /** TOKEN_STORE_KEY: a secret too. */
  readonly key: string;
  readonly agent: Agent;
  readonly redisUrl: string;
}

async function startFleet(t: TestContext, credentials: Record<string, unknown> = CREDENTIALS): Promise<Fleet | undefined> {
  if (!needRedis(t)) return undefined;
  const redis = await startRedis(t);
  const fake = await startCredentialsDouble(t);
  const key = randomBytes(32).toString('hex');
  const env = { ...credentialsEnv(credentials), SUITECRM_URL: fake.url, TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: key };
  const replicas = await startReplicas(t, env);
  const agent = new Agent({ connections: 256, connect: { timeout: 60_000 } });
  t.after(() => agent.close());
  return { fake, replicas, urls: replicas.map((r) => r.url), key, agent, redisUrl: redis.url };
}

/** Where each replica's stdout is now, to read the log lines written after it. */
function marks(fleet: Fleet): number[] {
  return fleet.replicas.map((r) => r.lines.length);
}

/**
 * The 'request' log lines of every replica since `from`, once `count` of them have arrived (stdout
 * is read asynchronously, so the last lines may come in after the last answer).
 */
async function fleetRequestLines(fleet: Fleet, count: number, from: number[] = fleet.replicas.map(() => 0)): Promise<Array<Record<string, unknown>>> {
  const collect = (): Array<Record<string, unknown>> =>
    fleet.replicas.flatMap((r, i) => requestLines(r.lines.slice(from[i] ?? 0).map(parseJson)));
  await until(`${count} request log lines`, () => collect().length >= count);
  return collect();
}

test('three replicas on one Redis: one grant per credential for 300 cold requests; a revoked credential renewed once, for it alone', async (t) => {
  const fleet = await startFleet(t);
  if (!fleet) return;
  const cold = await mixedBurst(fleet.urls, 300, fleet.agent);
  assertServedAsTheirCredential(cold);
  assert.deepEqual(tokenRequestsByClient(fleet.fake), ONE_GRANT_EACH, 'exactly one token request per credential for the whole fleet');
  assert.deepEqual(assertTokensMatchCallers(fleet.fake), Object.fromEntries(SENDERS.map((s) => [s.name, 50])), 'a mixed load reached SuiteCRM');
  const coldLines = await fleetRequestLines(fleet, 300);
  assertLogNamesCredential(coldLines);
  for (const [i, replica] of fleet.replicas.entries()) {
    const callers = new Set(requestLines(replica.lines.map(parseJson)).map((l) => String(l.caller)));
    assert.equal(callers.size, SENDERS.length, `replica ${i} served every caller`);
  }

  const revocation = revokeReportingToken(fleet.fake);
  const logFrom = marks(fleet);
  assertServedAsTheirCredential(await mixedBurst(fleet.urls, 180, fleet.agent));
  assertRevocationConfined(fleet.fake, revocation, await fleetRequestLines(fleet, 180, logFrom));
  assertNoSecrets(fleet.replicas.flatMap((r) => r.lines), [...issuedTokens(fleet.fake), fleet.key]);

  // Three credentials, one pair of connections per replica (commands and a subscriber): the
  // credentials' token stores share the process's RedisHome.
  const clients = (await adminClient(t, fleet.redisUrl).client('LIST')) as string;
  const proxyConnections = clients.split('\n').filter((line) => line.includes('name=suitecrm-auth-proxy'));
  assert.equal(proxyConnections.length, 2 * fleet.replicas.length, proxyConnections.join('\n'));
});

test('three replicas, one credential with a wrong secret: its callers get CREDENTIALS_REJECTED everywhere, the others one grant each', async (t) => {
  const fleet = await startFleet(t, credentialsWith('reporting-ro', { clientSecret: WRONG_SECRET }));
  if (!fleet) return;
  const answers = await mixedBurst(fleet.urls, 120, fleet.agent);
  const reporting = answers.filter((a) => credentialOf(a.caller) === 'reporting-ro');
  assertRejectedNaming(reporting, 'reporting-ro');
  assertServedAsTheirCredential(answers.filter((a) => credentialOf(a.caller) !== 'reporting-ro'));
  const { 'ro-client': rejectedRequests = 0, ...granted } = tokenRequestsByClient(fleet.fake);
  assert.deepEqual(granted, { 'wr-client': 1, 'inv-client': 1 }, 'one grant per working credential for the whole fleet');
  assert.ok(rejectedRequests >= 1 && rejectedRequests <= fleet.replicas.length, `at most one rejected token request per replica (${rejectedRequests})`);
  assertTokensMatchCallers(fleet.fake);

  const probes = await Promise.all(fleet.urls.map((url) => readiness(url, fleet.agent)));
  for (const [i, probe] of probes.entries()) {
    assert.deepEqual([probe.status, probe.errorCode], [503, 'CREDENTIALS_REJECTED'], `replica ${i}: ${probe.text}`);
    assert.match(probe.detail, /reporting-ro/, `replica ${i} names the failing credential`);
    assert.equal(probe.credentials['reporting-ro']?.status, 'failing', `replica ${i}: ${probe.text}`);
    assert.deepEqual([probe.credentials.default?.status, probe.credentials.invoicing?.status], ['ready', 'ready'], `replica ${i}: ${probe.text}`);
  }
  assertLogNamesCredential(await fleetRequestLines(fleet, 120));
  const outputs = [...fleet.replicas.flatMap((r) => r.lines), ...answers.map((a) => a.text), ...probes.map((p) => p.text)];
  assertNoSecrets(outputs, [...issuedTokens(fleet.fake), fleet.key]);
});

test('three replicas, Redis gone: every replica renews each credential alone, and still only with its caller\'s credential', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const fake = await startCredentialsDouble(t);
  const key = randomBytes(32).toString('hex');
  const replicas = await startReplicas(t, { ...credentialsEnv(), SUITECRM_URL: fake.url, TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: key, REDIS_COMMAND_TIMEOUT_SECONDS: '0.2' });
  const agent = new Agent({ connections: 256 });
  t.after(() => agent.close());
  const urls = replicas.map((r) => r.url);
  assertServedAsTheirCredential(await mixedBurst(urls, 90, agent));
  await redis.kill();
  fake.revokeAll();
  const before = fake.tokenRequests.length;
  // Every token is dead and the store is unreachable: renewals run per replica and per credential.
  assertServedAsTheirCredential(await mixedBurst(urls, 180, agent));
  assertTokensMatchCallers(fake);
  const renewals = tokenRequestsByClient(fake, before);
  for (const client of Object.keys(ONE_GRANT_EACH)) {
    const count = renewals[client] ?? 0;
    assert.ok(count >= 1 && count <= 2 * replicas.length, `${client}: ${count} token requests, at most a refresh and a grant per replica`);
  }
  assertNoSecrets(replicas.flatMap((r) => r.lines), [...issuedTokens(fake), key]);
});
