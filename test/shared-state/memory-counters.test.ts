/**
 * The counters of one process (and of a PROXY_WORKERS primary, and of a Redis replica while Redis
 * is down), driven by a fake clock: token buckets, fixed windows, bounded memory; and the
 * @fastify/rate-limit store that takes from the buckets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryCounters } from '../../src/shared-state/memory-counters.js';
import { bucketStore, storeResult, type StoreResult } from '../../src/security/rate-limit-buckets.js';

describe('MemoryCounters: token buckets', () => {
  test('a burst, then one request per 1/rate seconds, with the wait until the next token', () => {
    let now = 0;
    const counters = new MemoryCounters(() => now);
    // burst 3, 2 per second: a full refill takes 1500 ms.
    const take = () => counters.takeNow('reporting', 3, 1500);
    assert.deepEqual(take(), { allowed: true, remaining: 2, waitMs: 500 });
    assert.deepEqual(take(), { allowed: true, remaining: 1, waitMs: 1000 });
    assert.deepEqual(take(), { allowed: true, remaining: 0, waitMs: 1500 });
    assert.deepEqual(take(), { allowed: false, remaining: 0, waitMs: 500 });
    now += 499;
    assert.equal(take().allowed, false);
    now += 2;
    assert.equal(take().allowed, true, 'one token after 500 ms');
    assert.equal(take().allowed, false);
    now += 60_000;
    for (let i = 0; i < 3; i++) assert.equal(take().allowed, true, 'the bucket never holds more than the burst');
    assert.equal(take().allowed, false);
    assert.equal(counters.takeNow('other', 3, 1500).allowed, true, 'buckets are per key');
  });

  test('a clock that goes back never adds tokens; a changed limit applies from the next take', () => {
    let now = 10_000;
    const counters = new MemoryCounters(() => now);
    assert.equal(counters.takeNow('k', 1, 1000).allowed, true);
    now -= 5_000;
    assert.equal(counters.takeNow('k', 1, 1000).allowed, false);
    // A reload gave the caller a larger burst: the bucket refills up to it.
    now += 10_000;
    const results = Array.from({ length: 5 }, () => counters.takeNow('k', 4, 1000).allowed);
    assert.deepEqual(results, [true, true, true, true, false]);
  });

  test('the promise form answers the same', async () => {
    const counters = new MemoryCounters(() => 0);
    assert.deepEqual(await counters.take('k', 2, 2000), { allowed: true, remaining: 1, waitMs: 1000 });
  });
});

describe('MemoryCounters: fixed windows', () => {
  test('counts from the first add for windowMs, then starts over', async () => {
    let now = 0;
    const counters = new MemoryCounters(() => now);
    assert.deepEqual(counters.addNow('a', 60_000, 0), { count: 0, resetInMs: 0 }, 'reading starts no window');
    assert.deepEqual(counters.addNow('a', 60_000, 1), { count: 1, resetInMs: 60_000 });
    now += 30_500;
    assert.deepEqual(counters.addNow('a', 60_000, 1), { count: 2, resetInMs: 29_500 });
    assert.deepEqual(await counters.add('a', 60_000, 0), { count: 2, resetInMs: 29_500 });
    assert.deepEqual(counters.addNow('b', 60_000, 0), { count: 0, resetInMs: 0 }, 'windows are per key');
    now += 29_500;
    assert.deepEqual(counters.addNow('a', 60_000, 0), { count: 0, resetInMs: 0 }, 'the window ended');
    assert.deepEqual(counters.addNow('a', 60_000, 1), { count: 1, resetInMs: 60_000 });
  });

  test('a negative add takes back, never below 0, and never starts a window', () => {
    const counters = new MemoryCounters(() => 0);
    assert.deepEqual(counters.addNow('a', 1000, -1), { count: 0, resetInMs: 0 });
    assert.deepEqual(counters.addNow('a', 1000, 0), { count: 0, resetInMs: 0 });
    counters.addNow('a', 1000, 2);
    assert.deepEqual(counters.addNow('a', 1000, -1), { count: 1, resetInMs: 1000 });
    assert.deepEqual(counters.addNow('a', 1000, -5), { count: 0, resetInMs: 1000 });
  });

  test('memory is bounded: the least recently used windows are dropped, clear() forgets all', () => {
    const counters = new MemoryCounters(() => 0);
    for (let i = 0; i <= 20_000; i++) counters.addNow(`address-${i}`, 60_000, 1);
    assert.equal(counters.addNow('address-0', 60_000, 0).count, 0, 'the oldest of 20,001 windows is gone');
    assert.equal(counters.addNow('address-20000', 60_000, 0).count, 1);
    counters.takeNow('k', 1, 60_000);
    counters.clear();
    assert.equal(counters.addNow('address-20000', 60_000, 0).count, 0);
    assert.equal(counters.takeNow('k', 1, 60_000).allowed, true);
  });
});

describe('the @fastify/rate-limit store over the buckets', () => {
  const incr = (store: { incr: (key: string, cb: (err: Error | null, result?: StoreResult) => void, windowMs: number, max: number) => void }, key: string) =>
    new Promise<StoreResult | undefined>((resolve, reject) => store.incr(key, (err, result) => (err ? reject(err) : resolve(result)), 1500, 3));

  test('current counts against max (above it: refused), ttl is the wait', async () => {
    const counters = new MemoryCounters(() => 0);
    const Store = bucketStore(counters);
    const store = new Store();
    assert.deepEqual(await incr(store, 'reporting'), { current: 1, ttl: 500 });
    assert.deepEqual(await incr(store, 'reporting'), { current: 2, ttl: 1000 });
    assert.deepEqual(await incr(store, 'reporting'), { current: 3, ttl: 1500 });
    assert.deepEqual(await incr(store, 'reporting'), { current: 4, ttl: 500 });
    assert.equal(counters.takeNow('request:reporting', 3, 1500).allowed, false, 'request buckets are keyed request:<caller>');
    assert.deepEqual(await incr(store.child({ routeInfo: { method: 'GET', url: '/x' } }), 'reporting'), { current: 1, ttl: 500 }, 'a route-level limit has its own buckets');
    assert.deepEqual(storeResult({ allowed: true, remaining: 5, waitMs: 10 }, 6), { current: 1, ttl: 10 });
  });
});
