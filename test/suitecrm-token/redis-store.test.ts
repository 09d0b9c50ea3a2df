/**
 * RedisTokenStore against a real redis-server: one grant for concurrent renewals, adoption,
 * generation-checked invalidation, lease renewal, fencing, encryption at rest, and failing fast
 * (TokenStoreUnavailableError) while Redis is gone, then sharing again when it is back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import type { Token } from '../../src/suitecrm-token/grant.js';
import { RedisHome } from '../../src/shared-state/redis-home.js';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../../src/suitecrm-token/shared/redis-store.js';
import { keyId } from '../../src/shared-state/key-id.js';
import { isTokenStoreUnavailable } from '../../src/suitecrm-token/token-store.js';
import { adminClient, freePort, needRedis, startRedis, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';

const KEY = randomBytes(32);
const LOCK = `test:{cred:${keyId(KEY)}}:lock`;
const RECORD = `test:{cred:${keyId(KEY)}}:token`;

function makeToken(n: number, lifetimeMs = 3_600_000): Token {
  const accessToken = `access-token-${n}-${randomBytes(8).toString('hex')}`;
  return {
    accessToken, lifetimeMs, expiresInReported: true, receivedAt: Date.now(), grant: 'password',
    refreshToken: `def50200refresh-${n}-${randomBytes(8).toString('hex')}`, authorization: `Bearer ${accessToken}`,
  };
}

/** A store on its own RedisHome: one replica's connections. */
function storeFor(t: TestContext, url: string, overrides: Partial<RedisTokenStoreOptions> & { commandTimeoutMs?: number } = {}): RedisTokenStore {
  const logger = pino({ level: 'silent' });
  const home = new RedisHome({ url, commandTimeoutMs: overrides.commandTimeoutMs ?? 1000, logger });
  const store = new RedisTokenStore({
    home, key: KEY, prefix: 'test', credentialKey: 'cred', waitBudgetMs: 10_000, logger, ...overrides,
  });
  t.after(async () => {
    await store.close();
    await home.close();
  });
  return store;
}

/** A grant function that counts calls, remembers the refresh token it was given, and can be held open. */
function grants() {
  let count = 0;
  const refreshTokensSeen: Array<string | undefined> = [];
  let gate: Promise<void> | undefined;
  let open: () => void = () => undefined;
  return {
    get count() { return count; },
    refreshTokensSeen,
    hold() { gate = new Promise<void>((resolve) => { open = resolve; }); },
    release() { open(); gate = undefined; },
    fn: async (refreshToken: string | undefined): Promise<Token> => {
      count += 1;
      refreshTokensSeen.push(refreshToken);
      const n = count;
      if (gate) await gate;
      return makeToken(n);
    },
  };
}

async function withRedis(t: TestContext): Promise<RedisServer | undefined> {
  if (!needRedis(t)) return undefined;
  return startRedis(t);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * invalidate() sends its command without waiting for it, so there is no event to wait on; but
 * Redis runs one connection's commands in order. Two round trips on the store's connection, not
 * one: the first use of a Lua script answers NOSCRIPT and ioredis re-sends it as EVAL, which is
 * on the wire by the time the first round trip returns, so the second one answers after it ran.
 */
const invalidationRan = async (store: RedisTokenStore): Promise<void> => {
  await store.latest();
  await store.latest();
};

test('three replicas renewing at once: one grant, the others adopt the same token', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const stores = [storeFor(t, redis.url), storeFor(t, redis.url), storeFor(t, redis.url)];
  const g = grants();
  const results = await Promise.all(stores.map((s) => s.renew(0, g.fn)));
  assert.equal(g.count, 1, 'exactly one grant for the fleet');
  assert.equal(new Set(results.map((r) => r.token.accessToken)).size, 1);
  assert.equal(new Set(results.map((r) => r.generation)).size, 1);
  assert.deepEqual(results.map((r) => r.source).sort(), ['adopted', 'adopted', 'granted']);
});

test('a cold replica adopts the stored token; renewing the known generation grants with the newest refresh token', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const a = storeFor(t, redis.url);
  const b = storeFor(t, redis.url);
  const g = grants();
  const first = await a.renew(0, g.fn);
  const adopted = await b.renew(0, g.fn);
  assert.equal(g.count, 1);
  assert.equal(adopted.source, 'adopted');
  assert.equal(adopted.token.accessToken, first.token.accessToken);
  assert.equal(adopted.token.refreshToken, first.token.refreshToken);
  assert.ok(Math.abs(adopted.token.receivedAt - first.token.receivedAt) < 1000, 'same schedule as the replica that obtained it');
  const renewed = await b.renew(adopted.generation, g.fn);
  assert.equal(g.count, 2);
  assert.equal(g.refreshTokensSeen[1], first.token.refreshToken, 'the grant got the newest refresh token from Redis');
  assert.ok((renewed.generation ?? 0) > (first.generation ?? 0), 'generations increase');
  // A replica still holding the first generation takes the newer one instead of granting.
  const caughtUp = await a.renew(first.generation, g.fn);
  assert.equal(g.count, 2);
  assert.equal(caughtUp.token.accessToken, renewed.token.accessToken);
});

test('invalidate only drops the shared token while it is still the generation that failed', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const a = storeFor(t, redis.url);
  const g = grants();
  const one = await a.renew(0, g.fn);
  const two = await a.renew(one.generation, g.fn);
  a.invalidate(one.generation ?? 0); // a late 401 for the old token
  await invalidationRan(a);
  const cold = await a.renew(0, g.fn);
  assert.equal(g.count, 2, 'the newer token survived the stale 401');
  assert.equal(cold.token.accessToken, two.token.accessToken);
  a.invalidate(two.generation ?? 0);
  await invalidationRan(a);
  await a.renew(0, g.fn);
  assert.equal(g.count, 3, 'the rejected token is not handed out again');
  assert.equal(g.refreshTokensSeen[2], two.token.refreshToken, 'the refresh token survives invalidation');
});

test('waiters do not call SuiteCRM while the holder renews its lease through a long grant', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const holder = storeFor(t, redis.url, { leaseMs: 300 });
  const waiter = storeFor(t, redis.url, { leaseMs: 300 });
  const g = grants();
  g.hold();
  const held = holder.renew(0, g.fn);
  await until('the holder to take the lock and start its grant', () => g.count === 1);
  const waiting = waiter.renew(0, g.fn);
  await sleep(1200); // four lease lengths: without renewal the lock would have expired
  assert.equal(g.count, 1, 'the waiter is still waiting');
  g.release();
  const [a, b] = await Promise.all([held, waiting]);
  assert.equal(g.count, 1);
  assert.equal(a.token.accessToken, b.token.accessToken);
});

test('a replica whose lease was lost cannot overwrite the newer token (fencing)', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const slow = storeFor(t, redis.url);
  const fast = storeFor(t, redis.url);
  const admin = adminClient(t, redis.url);
  const slowGrant = grants();
  slowGrant.hold();
  const slowResult = slow.renew(0, slowGrant.fn);
  await until('the slow replica to take the lock and start its grant', () => slowGrant.count === 1);
  assert.equal(slowGrant.count, 1);
  await admin.del(LOCK); // as if the lease had run out during a long pause
  const fastResult = await fast.renew(0, grants().fn);
  slowGrant.release();
  const late = await slowResult;
  assert.equal(late.token.accessToken, fastResult.token.accessToken, 'the late replica took the newer token');
  assert.equal(late.source, 'adopted');
  const cold = await storeFor(t, redis.url).renew(0, grants().fn);
  assert.equal(cold.token.accessToken, fastResult.token.accessToken, 'Redis still holds the newer token');
});

test('a lock left by a crashed replica expires and the next replica renews', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const admin = adminClient(t, redis.url);
  await admin.set(LOCK, 'crashed-owner', 'PX', 600);
  const g = grants();
  const result = await storeFor(t, redis.url).renew(0, g.fn);
  assert.equal(g.count, 1);
  assert.equal(result.source, 'granted');
});

test('tokens are encrypted at rest: no token material in any Redis value', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const g = grants();
  const stored = await storeFor(t, redis.url).renew(0, g.fn);
  const admin = adminClient(t, redis.url);
  const keys = await admin.keys('*');
  assert.ok(keys.length > 0);
  for (const key of keys) {
    const type = await admin.type(key);
    const values = type === 'hash' ? Object.values(await admin.hgetall(key)) : type === 'string' ? [await admin.get(key)] : [];
    for (const value of values) {
      assert.ok(!String(value).includes(stored.token.accessToken), `access token in plain text at ${key}`);
      assert.ok(!String(value).includes(stored.token.refreshToken ?? '-'), `refresh token in plain text at ${key}`);
      assert.ok(!String(value).includes('access-token-'), `token material in plain text at ${key}`);
    }
  }
});

test('a replica with another key forms its own group and never touches the record of the others', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const g = grants();
  const ours = await storeFor(t, redis.url).renew(0, g.fn);
  const foreign = await storeFor(t, redis.url, { key: randomBytes(32) }).renew(0, g.fn);
  assert.equal(g.count, 2, 'it could not read ours, so it obtained its own');
  assert.notEqual(foreign.token.accessToken, ours.token.accessToken);
  const cold = await storeFor(t, redis.url).renew(0, g.fn);
  assert.equal(cold.token.accessToken, ours.token.accessToken, 'our record is intact');
});

test('an altered record is never served and never overwritten: the replica renews alone', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const g = grants();
  const store = storeFor(t, redis.url);
  const first = await store.renew(0, g.fn);
  const admin = adminClient(t, redis.url);
  const blob = String(await admin.hget(RECORD, 'blob'));
  await admin.hset(RECORD, 'blob', blob.slice(0, -4) + (blob.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
  const undecryptable = (err: unknown) => isTokenStoreUnavailable(err) && err.reason === 'undecryptable';
  await assert.rejects(storeFor(t, redis.url).renew(0, g.fn), undecryptable, 'not adopted');
  await assert.rejects(store.renew(first.generation, g.fn), undecryptable, 'not replaced');
  assert.equal(g.count, 1);
  assert.equal(await admin.exists(LOCK), 0, 'the lock was released');
});

test('unreachable Redis fails fast with TokenStoreUnavailableError', async (t) => {
  const port = await freePort();
  const store = storeFor(t, `redis://127.0.0.1:${port}`);
  const g = grants();
  const started = Date.now();
  await assert.rejects(store.renew(0, g.fn), (err: unknown) => isTokenStoreUnavailable(err));
  assert.ok(Date.now() - started < 5000, 'bounded by the connect timeout');
  assert.equal(store.shared(), false);
  assert.equal(g.count, 0, 'the store does not grant on its own when it cannot coordinate');
});

test('Redis killed: renewals fail fast; Redis back: sharing resumes', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const a = storeFor(t, redis.url);
  const b = storeFor(t, redis.url);
  const g = grants();
  await a.renew(0, g.fn);
  await b.renew(0, g.fn);
  await redis.kill();
  await until('both stores to notice the outage', () => !a.shared() && !b.shared());
  await assert.rejects(a.renew(0, g.fn), (err: unknown) => isTokenStoreUnavailable(err));
  assert.equal(a.shared(), false);
  await redis.start();
  for (let i = 0; i < 100 && !(a.shared() && b.shared()); i++) await sleep(100);
  assert.ok(a.shared() && b.shared(), 'both reconnected within 10 s');
  const before = g.count;
  const results = await Promise.all([a.renew(0, g.fn), b.renew(0, g.fn)]);
  assert.equal(g.count, before + 1, 'one grant for both after the restart (Redis came back empty)');
  assert.equal(results[0].token.accessToken, results[1].token.accessToken);
});

test('a renewal announced over pub/sub reaches the other replicas', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const a = storeFor(t, redis.url);
  const b = storeFor(t, redis.url);
  const heard: number[] = [];
  b.onRenewed((generation) => heard.push(generation));
  await b.renew(0, grants().fn); // connected and subscribed
  for (let i = 0; i < 50 && !b.shared(); i++) await sleep(50);
  const renewed = await a.renew((await a.renew(0, grants().fn)).generation, grants().fn);
  for (let i = 0; i < 50 && !heard.includes(renewed.generation ?? -1); i++) await sleep(50);
  assert.ok(heard.includes(renewed.generation ?? -1));
  const latest = await b.latest();
  assert.equal(latest?.token.accessToken, renewed.token.accessToken);
});

test('a slow Redis (paused) makes renewals fail fast instead of hanging; it answers again after', async (t) => {
  const redis = await withRedis(t);
  if (!redis) return;
  const store = storeFor(t, redis.url, { commandTimeoutMs: 300 });
  const g = grants();
  const first = await store.renew(0, g.fn);
  process.kill(redis.pid!, 'SIGSTOP');
  try {
    const started = Date.now();
    await assert.rejects(store.renew(first.generation, g.fn), (err: unknown) => isTokenStoreUnavailable(err) && err.reason === 'timeout');
    assert.ok(Date.now() - started < 5000, 'bounded by the command timeout');
    assert.equal(store.shared(), false);
  } finally {
    process.kill(redis.pid!, 'SIGCONT');
  }
  // The timed-out claim ran late and took the lock; the release queued behind it frees it at once
  // instead of leaving it for the 10 s lease.
  const admin = adminClient(t, redis.url);
  let locked = 1;
  for (let i = 0; i < 50 && locked === 1; i++) {
    locked = await admin.exists(LOCK);
    if (locked === 1) await sleep(100);
  }
  assert.equal(locked, 0, 'no lock left behind by the timed-out claim');
  let again: Awaited<ReturnType<typeof store.renew>> | undefined;
  for (let i = 0; i < 50 && again === undefined; i++) {
    again = await store.renew(first.generation, g.fn).catch(() => undefined);
    if (again === undefined) await sleep(100);
  }
  assert.ok(again !== undefined && store.shared(), 'usable again once Redis answers');
});
