/**
 * Issue 19: three proxy processes (`node dist/src/main.js`) with TOKEN_STORE=redis on one real
 * redis-server, in front of the SuiteCRM double, and tools logging in at the proxy's own token
 * endpoint: a local token from any replica is accepted by all, a refresh at one makes the old pair
 * fail at the others, a logout at one ends the session at the others within 1 s, the session limits
 * hold for the fleet, and with Redis killed in the middle logins and calls go on, then are shared again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { CC_ENV } from '../support/proxy-harness.js';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { call, login, logout, refresh, type OAuthTool } from '../support/local-login.js';
import { startReplicas, type ProxyReplica } from '../support/proxy-replica.js';
import { needRedis, startRedis, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';

const CC_TOOL: OAuthTool = { name: 'cc-tool', clientId: 'cc-tool-client', clientSecret: 'cc-tool-S3cret-0123456789' };
const PW_TOOL: OAuthTool = { name: 'pw-tool', clientId: 'pw-tool-client', clientSecret: 'pw-tool-S3cret-0123456789', username: 'jane', password: 'jane-Secr3t-pw' };
const OTHER: OAuthTool = { name: 'other-tool', clientId: 'other-client', clientSecret: 'other-S3cret-0123456789' };

interface Fleet {
  readonly redis: RedisServer;
  readonly replicas: ProxyReplica[];
  readonly urls: string[];
}

async function startFleet(t: TestContext, env: Record<string, string> = {}): Promise<Fleet | undefined> {
  if (!needRedis(t)) return undefined;
  const redis = await startRedis(t);
  const fake = await startFakeSuiteCrm();
  t.after(() => fake.close());
  const replicas = await startReplicas(t, {
    ...CC_ENV, SUITECRM_URL: fake.url, TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: randomBytes(32).toString('hex'),
    PROXY_CLIENTS: JSON.stringify([CC_TOOL, PW_TOOL, OTHER]), ...env,
  });
  return { redis, replicas, urls: replicas.map((r) => r.url) };
}

/** The statuses every replica answers to a call with `token`. */
function everywhere(fleet: Fleet, token: string): Promise<number[]> {
  return Promise.all(fleet.urls.map((url) => call(url, token)));
}

test('three replicas: a token from any one works on all; a refresh and a logout at one hold at the others', async (t) => {
  const fleet = await startFleet(t);
  if (!fleet) return;
  for (const url of fleet.urls) {
    const { access } = await login(url, CC_TOOL);
    assert.deepEqual(await everywhere(fleet, access), [200, 200, 200], 'a token issued by any replica is accepted by all');
  }

  const first = await login(fleet.urls[0]!, PW_TOOL);
  assert.deepEqual(await everywhere(fleet, first.access), [200, 200, 200]);
  const rotated = await refresh(fleet.urls[0]!, PW_TOOL, String(first.refresh));
  assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
  assert.deepEqual(await everywhere(fleet, first.access), [401, 401, 401], 'the old access token fails everywhere at once');
  const spent = await refresh(fleet.urls[1]!, PW_TOOL, String(first.refresh));
  assert.equal(spent.status, 401, 'the old refresh token is spent for the fleet');
  assert.equal(spent.json.hint, 'Token has been revoked');
  const access = String(rotated.json.access_token);
  assert.deepEqual(await everywhere(fleet, access), [200, 200, 200], 'the new pair works everywhere');

  // Every replica has the session cached now: the logout must reach their copies.
  assert.equal(await logout(fleet.urls[1]!, access), 200);
  const loggedOutAt = Date.now();
  await until('the logout at every replica', async () => (await everywhere(fleet, access)).every((s) => s === 401), 5_000);
  const took = Date.now() - loggedOutAt;
  assert.ok(took < 1_000, `the other replicas refused the token ${took} ms after the logout`);
  const again = await refresh(fleet.urls[2]!, PW_TOOL, String(rotated.json.refresh_token));
  assert.equal(again.status, 401, 'the logout ended the refresh token too');
});

test('the limits hold for the fleet: per caller, then the caller holding the most, wherever the logins land', async (t) => {
  const fleet = await startFleet(t, { LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT: '4', LOCAL_TOKEN_MAX_SESSIONS: '5' });
  if (!fleet) return;
  const tool = [];
  for (let i = 0; i < 5; i++) tool.push(await login(fleet.urls[i % 3]!, CC_TOOL));
  const other = [await login(fleet.urls[1]!, OTHER), await login(fleet.urls[2]!, OTHER)];
  for (const evicted of tool.slice(0, 2)) assert.deepEqual(await everywhere(fleet, evicted.access), [401, 401, 401]);
  for (const kept of [...tool.slice(2), ...other]) assert.deepEqual(await everywhere(fleet, kept.access), [200, 200, 200]);
  for (const url of fleet.urls) {
    const metrics = await (await fetch(`${url}/_proxy/metrics`)).text();
    assert.match(metrics, /^suitecrm_proxy_local_sessions\{caller="cc-tool"\} 3$/m);
    assert.match(metrics, /^suitecrm_proxy_local_sessions\{caller="other-tool"\} 2$/m);
  }
});

test('Redis killed in the middle: calls and logins go on within seconds, then the sessions are shared again', async (t) => {
  const fleet = await startFleet(t);
  if (!fleet) return;
  const before = await login(fleet.urls[0]!, CC_TOOL);
  assert.deepEqual(await everywhere(fleet, before.access), [200, 200, 200]);
  const marks = fleet.replicas.map((r) => r.lines.length);

  await fleet.redis.kill();
  const killedAt = Date.now();
  assert.deepEqual(await everywhere(fleet, before.access), [200, 200, 200], 'a session every replica has seen keeps working');
  const during = await login(fleet.urls[1]!, CC_TOOL);
  assert.equal(await call(fleet.urls[1]!, during.access), 200, 'a login during the outage is served by its replica');
  assert.ok(Date.now() - killedAt < 10_000, 'within seconds');
  await until('every replica to say it once', () => fleet.replicas.every((r, i) => r.events('shared_state_unavailable', marks[i]).length === 1));
  const readiness = (await (await fetch(`${fleet.urls[1]!}/_proxy/readyz`)).json()) as { meta: { sharedState: { shared: boolean } } };
  assert.equal(readiness.meta.sharedState.shared, false, 'readiness meta says so');

  await fleet.redis.start();
  await until('every replica sharing again', () => fleet.replicas.every((r, i) => r.events('shared_state_recovered', marks[i]).length > 0), 20_000);
  await until('the outage login shared', async () => (await everywhere(fleet, during.access)).every((s) => s === 200), 10_000);
  assert.deepEqual(await everywhere(fleet, before.access), [200, 200, 200], 'Redis came back empty: the sessions seen were put back');
  assert.ok(fleet.replicas[1]!.events('local_sessions_reshared').some((e) => e.shared === 1), 'the replica that kept the outage login says it shared it');
  const after = await login(fleet.urls[2]!, CC_TOOL);
  assert.deepEqual(await everywhere(fleet, after.access), [200, 200, 200]);
  assert.equal(await logout(fleet.urls[0]!, after.access), 200);
  await until('the logout everywhere', async () => (await everywhere(fleet, after.access)).every((s) => s === 401), 5_000);
});
