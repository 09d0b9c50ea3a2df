/**
 * Three proxy processes (`node dist/src/main.js`) sharing one real Redis in front of the SuiteCRM
 * test double: the whole fleet mints one token, survives a revocation with one grant, rotates
 * password-grant refresh tokens without losing a race, and keeps serving while Redis is killed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { Agent, request, type Dispatcher } from 'undici';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxyReplica, startReplicas, type ProxyReplica } from '../support/proxy-replica.js';
import { adminClient, needRedis, startRedis, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';

const API_PATH = '/Api/V8/module/Accounts';
const CC = { SUITECRM_GRANT_TYPE: 'client_credentials', SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!' };
const PW = {
  SUITECRM_GRANT_TYPE: 'password', SUITECRM_CLIENT_ID: 'pw-client', SUITECRM_CLIENT_SECRET: 'pw-secret-S3cr3t!',
  SUITECRM_USERNAME: 'admin', SUITECRM_PASSWORD: 'admin-P4ssw0rd!',
};

interface Fleet {
  readonly fake: FakeSuiteCrm;
  readonly redis: RedisServer;
  readonly replicas: ProxyReplica[];
  readonly key: string;
  readonly agent: Agent;
}

async function startFleet(t: TestContext, credentials: Record<string, string>, ttlSeconds?: number): Promise<Fleet | undefined> {
  if (!needRedis(t)) return undefined;
  const redis = await startRedis(t);
  const fake = await startFakeSuiteCrm(ttlSeconds === undefined ? {} : { ttlSeconds });
  t.after(() => fake.close());
  const key = randomBytes(32).toString('hex');
  const env = { ...credentials, SUITECRM_URL: fake.url, TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: key };
  const replicas = await startReplicas(t, env);
  const agent = new Agent({ connections: 256 });
  t.after(() => agent.close());
  return { fake, redis, replicas, key, agent };
}

async function send(fleet: Fleet, replica: number): Promise<number> {
  try {
    const response = await request(`${fleet.replicas[replica]!.url}${API_PATH}`, { dispatcher: fleet.agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
}

/** Sends `count` requests at once, spread over the replicas; returns the statuses. */
function burst(fleet: Fleet, count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => send(fleet, i % fleet.replicas.length)));
}

/**
 * Steady traffic: `perReplica` sequential loops per replica, each pausing 5 ms between requests
 * (the pacing is part of the scenario, not a wait), until stop(), until `forMs` has passed, or
 * `maxRequests` have been sent, whichever comes first.
 */
function traffic(fleet: Fleet, perReplica: number, { forMs = Infinity, maxRequests = 20_000 } = {}) {
  const results: Array<{ replica: number; status: number }> = [];
  const endAt = Date.now() + forMs;
  let stopped = false;
  const loops = fleet.replicas.flatMap((_, replica) => Array.from({ length: perReplica }, async () => {
    while (!stopped && Date.now() < endAt && results.length < maxRequests) {
      results.push({ replica, status: await send(fleet, replica) });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }));
  const statuses = (): number[] => results.map((r) => r.status);
  return {
    /** Resolves with every status once the loops end by themselves (`forMs` or `maxRequests`). */
    done: Promise.all(loops).then(statuses),
    /** A position in the results, to count from with everyReplicaServed(). */
    mark: (): number => results.length,
    /** Whether every replica has answered at least `count` requests with 200 since `from`. */
    everyReplicaServed: (count: number, from = 0): boolean => fleet.replicas.every((_, replica) =>
      results.slice(from).filter((r) => r.replica === replica && r.status === 200).length >= count),
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return statuses();
    },
  };
}

/**
 * Enough answers per replica after an event (a revocation) that every replica has dealt with it
 * and then kept serving for a while: the window in which an extra grant would show up.
 */
const SETTLED_PER_REPLICA = 25;

function failures(statuses: number[]): number[] {
  return statuses.filter((s) => s !== 200);
}

test('600 cold requests across three replicas: one grant; a revocation seen by all: one grant; Redis holds no readable token', async (t) => {
  const fleet = await startFleet(t, CC);
  if (!fleet) return;
  const cold = await burst(fleet, 600);
  assert.deepEqual(failures(cold), []);
  assert.equal(fleet.fake.tokenRequestCount(), 1, 'exactly one token request for the whole fleet');
  assert.equal(fleet.fake.grantsIssued(), 1);
  const obtained = fleet.replicas.map((r) => r.events('token_obtained').length);
  const adopted = fleet.replicas.map((r) => r.events('token_adopted').length);
  assert.deepEqual(obtained.slice().sort(), [0, 0, 1], 'one replica asked SuiteCRM');
  assert.deepEqual(adopted.slice().sort(), [0, 1, 1], 'the others adopted its token');

  fleet.fake.revokeAll();
  const afterRevocation = await burst(fleet, 90);
  assert.deepEqual(failures(afterRevocation), [], 'every request replayed with the new token');
  assert.equal(fleet.fake.grantsIssued(), 2, 'one grant for the revocation, not one per replica');

  // Encryption at rest: nothing in Redis looks like a JWT, a refresh token or the credentials.
  const admin = adminClient(t, fleet.redis.url);
  const keys = await admin.keys('*');
  assert.ok(keys.some((k) => k.endsWith(':token')), `the token record exists (${keys.join(', ')})`);
  for (const key of keys) {
    const type = await admin.type(key);
    const values = type === 'hash' ? Object.values(await admin.hgetall(key)) : type === 'string' ? [String(await admin.get(key))] : [];
    for (const value of values) {
      assert.ok(!value.includes('eyJ'), `a JWT in plain text at ${key}`);
      assert.ok(!value.includes('cc-secret'), `the client secret at ${key}`);
    }
  }
  for (const replica of fleet.replicas) {
    for (const line of replica.lines) {
      assert.ok(!line.includes('eyJ') && !line.includes('cc-secret-S3cr3t!') && !line.includes(fleet.key), `secret in a log line: ${line.slice(0, 200)}`);
    }
  }
});

test('password grant, 3 s tokens, 30 s of traffic: refresh-token rotation never loses a race', async (t) => {
  const fleet = await startFleet(t, PW, 3);
  if (!fleet) return;
  // The period is the scenario (refreshes are counted per 30 s of 3 s tokens), so it stays, but
  // the load generator's own loop ends it rather than a bare sleep beside it; the request cap is
  // raised so that a fast machine cannot end the period early.
  const statuses = await traffic(fleet, 2, { forMs: 30_000, maxRequests: 100_000 }).done;
  assert.ok(statuses.length > 300, `enough traffic (${statuses.length} requests)`);
  assert.deepEqual(failures(statuses), [], 'no failed request');
  const refreshFailures = fleet.fake.tokenRequests.filter((r) => r.grant === 'refresh_token' && r.status !== 200);
  assert.deepEqual(refreshFailures.map((r) => r.status), [], 'no refresh token was used twice ("Token has been revoked")');
  assert.equal(fleet.fake.grantsIssued('password'), 1, 'one password grant, then only refreshes');
  const refreshes = fleet.fake.grantsIssued('refresh_token');
  // A refresh is due every ~2 s (3 s tokens); replicas renewing on their own would triple that.
  const replayed = fleet.fake.requests.filter((r) => r.status === 401).length;
  t.diagnostic(`30 s of traffic: ${statuses.length} requests, ${refreshes} refresh grants, 1 password grant, ${replayed} 401s replayed`);
  assert.ok(refreshes >= 8 && refreshes <= 20, `one refresh per token lifetime for the fleet (${refreshes} in 30 s)`);
  for (const replica of fleet.replicas) assert.deepEqual(replica.events('token_store_unavailable'), [], 'Redis stayed usable');
});

test('Redis killed mid-run: no failed request, each replica mints at most one token, sharing resumes after the restart', async (t) => {
  const fleet = await startFleet(t, CC);
  if (!fleet) return;
  const run = traffic(fleet, 2);
  await until('every replica serving with the shared token', () => run.everyReplicaServed(SETTLED_PER_REPLICA));
  assert.equal(fleet.fake.grantsIssued(), 1);

  await fleet.redis.kill();
  const outageFrom = fleet.replicas.map((r) => r.lines.length);
  await until('every replica to notice the outage', () => fleet.replicas.every((r) => r.events('token_store_unavailable').length > 0));
  const revokedAt = run.mark();
  fleet.fake.revokeAll(); // every replica must renew while Redis is gone
  await until('every replica serving again after the revocation', () => run.everyReplicaServed(SETTLED_PER_REPLICA, revokedAt));
  const outageGrants = fleet.fake.grantsIssued() - 1;
  const perReplica = fleet.replicas.map((r, i) => r.events('token_obtained', outageFrom[i]).length);
  t.diagnostic(`grants while Redis was down: ${outageGrants} (per replica ${perReplica.join('/')})`);
  assert.ok(outageGrants >= 1 && outageGrants <= 3, `at most one token per replica during the outage (${outageGrants})`);
  for (const [i, count] of perReplica.entries()) assert.ok(count <= 1, `replica ${i} minted ${count} tokens during the outage`);
  for (const replica of fleet.replicas) assert.equal(replica.events('token_store_unavailable').length, 1, 'the outage is logged once');
  for (const replica of fleet.replicas) {
    const readiness: Dispatcher.ResponseData = await request(`${replica.url}/_proxy/readyz`, { dispatcher: fleet.agent });
    const body = (await readiness.body.json()) as { meta: { tokenStore: string; tokenStoreShared: boolean } };
    assert.equal(readiness.statusCode, 200, 'readiness does not fail because of Redis');
    assert.deepEqual([body.meta.tokenStore, body.meta.tokenStoreShared], ['redis', false]);
  }

  const restartFrom = fleet.replicas.map((r) => r.lines.length);
  await fleet.redis.start();
  const back = await Promise.all(fleet.replicas.map((r, i) => r.waitForEvent('token_store_recovered', restartFrom[i] ?? 0, 15_000)));
  assert.deepEqual(back, [true, true, true], 'every replica reconnected');

  const before = fleet.fake.grantsIssued();
  const revokedAgainAt = run.mark();
  fleet.fake.revokeAll();
  await until('every replica serving again after the second revocation', () => run.everyReplicaServed(SETTLED_PER_REPLICA, revokedAgainAt));
  const statuses = await run.stop();
  assert.equal(fleet.fake.grantsIssued() - before, 1, 'after the restart the fleet shares one token again');
  assert.deepEqual(failures(statuses), [], `no failed request out of ${statuses.length}`);
});

test('TOKEN_STORE=redis with a malformed TOKEN_STORE_KEY stops the process with one line naming it', async () => {
  const badKey = 'not-32-bytes-Xq9';
  await assert.rejects(
    startProxyReplica({ ...CC, SUITECRM_URL: 'http://127.0.0.1:9', TOKEN_STORE: 'redis', REDIS_URL: 'redis://:redis-pass-Pp4@127.0.0.1:9', TOKEN_STORE_KEY: badKey }),
    (err: Error) => {
      assert.match(err.message, /TOKEN_STORE_KEY: expected 32 random bytes/);
      assert.ok(!err.message.includes(badKey) && !err.message.includes('redis-pass-Pp4'), err.message);
      return true;
    },
  );
});
