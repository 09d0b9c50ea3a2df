/**
 * RedisCounters against a real redis-server, several processes' worth of connections on one
 * Redis: the bucket and window scripts (atomic across replicas, on Redis's clock, refill, TTLs,
 * key expiry), the key layout, and an outage: answers from memory at once, one log line, each
 * replica counting alone, then sharing again once Redis is back.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { RedisCounters } from '../../src/shared-state/redis-counters.js';
import { RedisHome } from '../../src/shared-state/redis-home.js';
import { adminClient, needRedis, startRedis } from '../support/redis-server.js';
import { until } from '../support/wait.js';

const PREFIX = 'test-limits';

interface Replica {
  readonly home: RedisHome;
  readonly counters: RedisCounters;
  readonly logs: Array<Record<string, unknown>>;
}

/** `n` replicas' worth of Redis homes and counters on `url`, closed after the test. */
function replicas(t: TestContext, url: string, n: number, commandTimeoutMs = 1000): Replica[] {
  return Array.from({ length: n }, () => {
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const home = new RedisHome({ url, commandTimeoutMs, logger });
    t.after(() => home.close());
    return { home, counters: new RedisCounters(home, { prefix: PREFIX }), logs };
  });
}

const bucketKey = (key: string): string => `${PREFIX}:{limits}:bucket:${key}`;
const windowKey = (key: string): string => `${PREFIX}:{limits}:window:${key}`;

test('bucket: one burst for every replica, taken atomically, refilled on Redis\'s clock', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const admin = adminClient(t, redis.url);
  const fleet = replicas(t, redis.url, 3);
  // burst 6, a full refill in 10 minutes: 30 takes at once across three replicas.
  const takes = await Promise.all(Array.from({ length: 30 }, (_, i) => fleet[i % 3]!.counters.take('request:etl', 6, 600_000)));
  assert.equal(takes.filter((r) => r.allowed).length, 6);
  assert.deepEqual(takes.filter((r) => r.allowed).map((r) => r.remaining).sort(), [0, 1, 2, 3, 4, 5]);
  const refused = takes.find((r) => !r.allowed)!;
  assert.ok(refused.waitMs > 99_000 && refused.waitMs <= 100_000, `one token every 100 s: ${refused.waitMs}`);
  const ttl = await admin.pttl(bucketKey('request:etl'));
  assert.ok(ttl > 590_000 && ttl <= 600_000, `the key lives until the bucket is full again: ${ttl}`);

  // burst 2, one token every 100 ms.
  const counters = fleet[0]!.counters;
  assert.equal((await counters.take('fast', 2, 200)).allowed, true);
  assert.equal((await counters.take('fast', 2, 200)).allowed, true);
  const wait = await counters.take('fast', 2, 200);
  assert.equal(wait.allowed, false);
  assert.ok(wait.waitMs >= 1 && wait.waitMs <= 100, `wait ${wait.waitMs}`);
  const refusedAt = performance.now();
  await until('a token refilled', async () => (await fleet[1]!.counters.take('fast', 2, 200)).allowed, 5_000);
  assert.ok(performance.now() - refusedAt >= wait.waitMs - 5, 'not before the wait it announced');

  // An untouched bucket's key expires when it is full again: a missing key is a full bucket.
  await until('the full bucket\'s key expired', async () => (await admin.exists(bucketKey('fast'))) === 0, 5_000);
  assert.deepEqual(await counters.take('fast', 2, 200), { allowed: true, remaining: 1, waitMs: 100 });
});

test('window: counted from the first add on Redis\'s TTL; 0 reads, a negative add takes back; keys expire', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const admin = adminClient(t, redis.url);
  const fleet = replicas(t, redis.url, 3);
  const counts = await Promise.all(Array.from({ length: 30 }, (_, i) => fleet[i % 3]!.counters.add('login-failures:address:::1', 60_000, 1)));
  assert.deepEqual(counts.map((c) => c.count).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1), 'atomic across replicas');
  const read = await fleet[2]!.counters.add('login-failures:address:::1', 60_000, 0);
  assert.equal(read.count, 30);
  assert.ok(read.resetInMs > 50_000 && read.resetInMs <= 60_000, `reset in ${read.resetInMs}`);
  assert.equal((await fleet[0]!.counters.add('login-failures:address:::1', 60_000, -1)).count, 29);
  assert.equal((await fleet[0]!.counters.add('login-failures:address:::1', 60_000, -100)).count, 0, 'never below 0');

  const c = fleet[0]!.counters;
  assert.deepEqual(await c.add('nothing', 60_000, 0), { count: 0, resetInMs: 0 });
  assert.deepEqual(await c.add('nothing', 60_000, -1), { count: 0, resetInMs: 0 });
  assert.equal(await admin.exists(windowKey('nothing')), 0, 'reading or taking back starts no window');

  assert.equal((await c.add('short', 300, 1)).count, 1);
  assert.equal((await c.add('short', 300, 2)).count, 3);
  const ttl = await admin.pttl(windowKey('short'));
  assert.ok(ttl > 0 && ttl <= 300, `the window's key expires with it: ${ttl}`);
  await until('the window ended', async () => (await admin.exists(windowKey('short'))) === 0, 5_000);
  assert.deepEqual(await c.add('short', 300, 0), { count: 0, resetInMs: 0 });
  assert.equal((await c.add('short', 300, 1)).count, 1, 'a new window');

  // Every key lives under the prefix and the hash tag, with a TTL.
  const keys = await admin.keys('*');
  assert.ok(keys.length >= 2);
  for (const key of keys) {
    assert.match(key, /^test-limits:\{limits\}:(bucket|window):/);
    assert.ok((await admin.pttl(key)) > 0, `${key} has a TTL`);
  }
});

test('Redis down: every replica counts alone at once, says so once; back: shares again', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const fleet = replicas(t, redis.url, 2, 500);
  assert.equal((await fleet[0]!.counters.take('etl', 2, 600_000)).allowed, true);
  assert.equal((await fleet[1]!.counters.take('etl', 2, 600_000)).allowed, true);
  assert.equal((await fleet[0]!.counters.take('etl', 2, 600_000)).allowed, false, 'shared: the burst of 2 is used up');

  await redis.kill();
  // Whether the replica has noticed yet or not, each take is answered (from its own memory).
  for (const replica of fleet) {
    const local = await Promise.all([1, 2, 3].map(() => replica.counters.take('etl', 2, 600_000)));
    assert.deepEqual(local.map((r) => r.allowed), [true, true, false], 'each replica allows the whole burst alone');
    assert.equal((await replica.counters.add('w', 60_000, 1)).count, 1);
    assert.equal(replica.home.usable(), false);
  }
  for (const replica of fleet) assert.equal(replica.logs.filter((l) => l.event === 'shared_state_unavailable').length, 1);

  await redis.start();
  await until('both replicas reconnected', () => fleet.every((r) => r.home.usable()), 15_000);
  for (const replica of fleet) assert.equal(replica.logs.filter((l) => l.event === 'shared_state_recovered').length, 1);
  // The restarted Redis is empty: one full bucket for both replicas again, not one each.
  const shared = await Promise.all([0, 1, 0, 1].map((i) => fleet[i]!.counters.take('etl', 2, 600_000)));
  assert.equal(shared.filter((r) => r.allowed).length, 2);
  assert.equal((await fleet[1]!.counters.add('w', 60_000, 0)).count, 0, 'the local window was forgotten');
});

test('Redis down from the start: each take is answered from memory without waiting again; shared once it is up', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t, { deferStart: true });
  const [replica] = replicas(t, redis.url, 1, 500);
  const { counters, home } = replica!;
  // The first take waits for the first connection attempt (refused at once), the others not at all.
  assert.deepEqual((await Promise.all([1, 2, 3].map(() => counters.take('etl', 2, 600_000)))).map((r) => r.allowed), [true, true, false]);
  assert.equal(home.usable(), false);
  assert.equal(await home.ready(), false, 'no second wait for a connection that already failed');
  assert.equal(replica!.logs.filter((l) => l.event === 'shared_state_unavailable').length, 1);

  await redis.start();
  await until('the replica connected', () => home.usable(), 15_000);
  assert.equal((await counters.take('etl', 2, 600_000)).remaining, 1, 'counted in Redis, from a full bucket');
  const admin = adminClient(t, redis.url);
  assert.equal(await admin.exists(bucketKey('etl')), 1);
});
