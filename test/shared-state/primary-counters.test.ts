/**
 * PROXY_WORKERS counters: workers take from the primary's one copy, so a limit holds for the
 * group; a primary that does not answer leaves each worker counting in its own memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryCounters } from '../../src/shared-state/memory-counters.js';
import { COUNTERS_SERVICE, countersService, PrimaryCounters } from '../../src/shared-state/primary-counters.js';
import { PrimaryLink, PrimaryServices } from '../../src/shared-state/primary-link.js';
import { pair } from '../support/primary-channel.js';

test('two workers take from one bucket and add to one window in the primary', async () => {
  const services = new PrimaryServices();
  services.serve(COUNTERS_SERVICE, countersService(new MemoryCounters(() => 0)));
  const workers = [pair(services), pair(services)].map(({ link }) => new PrimaryCounters(link));
  const takes = await Promise.all(Array.from({ length: 6 }, (_, i) => workers[i % 2]!.take('request:etl', 2, 600_000)));
  assert.deepEqual(takes.map((r) => r.allowed), [true, true, false, false, false, false]);
  await workers[0]!.add('login-failures:address:::1', 60_000, 1);
  assert.deepEqual(await workers[1]!.add('login-failures:address:::1', 60_000, 1), { count: 2, resetInMs: 60_000 });
});

test('a primary that does not answer: the worker counts alone rather than failing', async () => {
  const silent = new PrimaryLink({ send: () => undefined, onMessage: () => undefined }, 20);
  const worker = new PrimaryCounters(silent, () => 0);
  assert.deepEqual(await worker.take('k', 1, 1000), { allowed: true, remaining: 0, waitMs: 1000 });
  assert.equal((await worker.take('k', 1, 1000)).allowed, false);
  assert.deepEqual(await worker.add('w', 1000, 1), { count: 1, resetInMs: 1000 });
});
