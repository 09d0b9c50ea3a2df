/**
 * The aggregation of a PROXY_WORKERS group (GroupMetrics) on real prom-client registries standing
 * for the workers and the primary: what is summed, labelled or the primary's alone, what a
 * retired worker leaves, and (property-based) that no counter of the group ever goes back
 * whatever the order of answers, missed rounds and worker deaths.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { GroupMetrics } from '../../src/cluster/group-metrics.js';
import { parseExposition, type Exposition } from '../support/prometheus-text.js';

/** What a worker's registry holds, in miniature: a counter, a histogram, gauges of each kind. */
class FakeWorker {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'suitecrm_proxy_requests_total', help: 'h', labelNames: ['caller'], registers: [this.registry] });
  readonly seconds = new Histogram({ name: 'suitecrm_proxy_upstream_duration_seconds', help: 'h', buckets: [0.1, 1], registers: [this.registry] });
  readonly sessions = new Gauge({ name: 'suitecrm_proxy_local_sessions', help: 'h', registers: [this.registry] });
  readonly newest = new Gauge({ name: 'suitecrm_proxy_example_max', help: 'h', aggregator: 'max', registers: [this.registry] });
  readonly memory = new Gauge({ name: 'process_resident_memory_bytes', help: 'h', registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'suitecrm_proxy_requests_in_flight', help: 'h', registers: [this.registry] });
  /** A worker's copy of the token's expiry: the primary's figure is the group's. */
  readonly expiry = new Gauge({ name: 'suitecrm_proxy_token_expires_in_seconds', help: 'h', registers: [this.registry] });
  readonly tokenRequests = new Counter({ name: 'suitecrm_proxy_token_requests_total', help: 'h', registers: [this.registry] });

  constructor(requests = 0) {
    this.requests.inc({ caller: 'a' }, requests);
    this.memory.set(100);
    this.expiry.set(999);
  }

  /** Its registry as the primary receives it: JSON over the IPC channel (a copy, not prom-client's live objects). */
  async snapshot(): Promise<Awaited<ReturnType<Registry['getMetricsAsJSON']>>> {
    return JSON.parse(JSON.stringify(await this.registry.getMetricsAsJSON())) as Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
  }
}

function primaryRegistry(): { registry: Registry; tokenRequests: Counter } {
  const registry = new Registry();
  const tokenRequests = new Counter({ name: 'suitecrm_proxy_token_requests_total', help: 'h', registers: [registry] });
  new Gauge({ name: 'suitecrm_proxy_token_expires_in_seconds', help: 'h', registers: [registry], collect() { this.set(60); } });
  new Gauge({ name: 'process_resident_memory_bytes', help: 'h', registers: [registry], collect() { this.set(50); } });
  return { registry, tokenRequests };
}

async function render(group: GroupMetrics, primary: Registry, unanswered: string[] = []): Promise<Exposition> {
  return parseExposition(await group.combine(await primary.getMetricsAsJSON(), new Set(unanswered)).metrics());
}

function newGroup(primary: Registry): GroupMetrics {
  return new GroupMetrics(primary.getMetricsAsArray().map((m) => m.name));
}

test('counters and histograms are summed, per-process figures labelled, the token\'s figures the primary\'s alone', async () => {
  const { registry: primary, tokenRequests } = primaryRegistry();
  tokenRequests.inc();
  const group = newGroup(primary);
  const one = new FakeWorker(7);
  const two = new FakeWorker(5);
  one.seconds.observe(0.05);
  two.seconds.observe(2);
  one.sessions.set(2);
  two.sessions.set(3);
  one.newest.set(4);
  two.newest.set(9);
  two.memory.set(300);
  one.tokenRequests.inc(10); // a worker never requests tokens; if it counted, it would not show
  group.record('1', 1, await one.snapshot());
  group.record('2', 1, await two.snapshot());
  const m = await render(group, primary);
  assert.equal(m.value('suitecrm_proxy_requests_total', { caller: 'a' }), 12);
  assert.equal(m.value('suitecrm_proxy_upstream_duration_seconds_count'), 2);
  assert.equal(m.value('suitecrm_proxy_upstream_duration_seconds_bucket', { le: '0.1' }), 1);
  assert.equal(m.value('suitecrm_proxy_local_sessions'), 5, 'a gauge is combined by its aggregator: sum by default');
  assert.equal(m.value('suitecrm_proxy_example_max'), 9, '... or max when its definition says so');
  assert.equal(m.value('suitecrm_proxy_token_requests_total'), 1);
  assert.equal(m.value('suitecrm_proxy_token_expires_in_seconds'), 60);
  assert.equal(m.value('process_resident_memory_bytes', { worker: '1' }), 100);
  assert.equal(m.value('process_resident_memory_bytes', { worker: '2' }), 300);
  assert.equal(m.value('process_resident_memory_bytes', { worker: 'primary' }), 50);
  assert.deepEqual(m.samples.filter((s) => s.name === 'suitecrm_proxy_requests_in_flight').map((s) => s.labels.worker), ['1', '2']);
});

test('a retired worker leaves its counters and histograms in the sums, not its gauges', async () => {
  const { registry: primary } = primaryRegistry();
  const group = newGroup(primary);
  const one = new FakeWorker(7);
  one.seconds.observe(0.5);
  one.sessions.set(2);
  group.record('1', 1, await one.snapshot());
  group.record('2', 1, await new FakeWorker(5).snapshot());
  group.retire('1');
  group.record('3', 2, await new FakeWorker(1).snapshot());
  const m = await render(group, primary);
  assert.equal(m.value('suitecrm_proxy_requests_total', { caller: 'a' }), 13);
  assert.equal(m.value('suitecrm_proxy_upstream_duration_seconds_count'), 1);
  assert.equal(m.value('suitecrm_proxy_local_sessions'), 0, 'the retired worker\'s sessions are gone');
  assert.deepEqual(m.samples.filter((s) => s.name === 'process_resident_memory_bytes').map((s) => s.labels.worker).sort(), ['2', '3', 'primary']);
  assert.deepEqual(group.workers().sort(), ['2', '3']);
  // Retiring twice, or a worker never heard from, changes nothing.
  group.retire('1');
  group.retire('9');
  assert.equal((await render(group, primary)).value('suitecrm_proxy_requests_total', { caller: 'a' }), 13);
});

test('an unanswered worker is counted with its last answer, without its gauges; an older answer never replaces a newer one', async () => {
  const { registry: primary } = primaryRegistry();
  const group = newGroup(primary);
  const one = new FakeWorker(7);
  one.sessions.set(4);
  const older = await one.snapshot();
  one.requests.inc({ caller: 'a' }, 3);
  group.record('1', 5, await one.snapshot());
  group.record('1', 4, older);
  const m = await render(group, primary, ['1']);
  assert.equal(m.value('suitecrm_proxy_requests_total', { caller: 'a' }), 10);
  assert.equal(m.sum('suitecrm_proxy_local_sessions'), 0);
  assert.deepEqual(m.samples.filter((s) => s.name === 'process_resident_memory_bytes').map((s) => s.labels.worker), ['primary']);
});

/** Steps of a group's life: a worker counts requests, a scrape (some workers answer), a worker dies and is replaced. */
const steps = fc.array(fc.oneof(
  fc.record({ kind: fc.constant('count' as const), worker: fc.nat(2), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('scrape' as const), answering: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('kill' as const), worker: fc.nat(2) }),
), { maxLength: 30 });

test('property: whatever the answers, missed rounds and deaths, the group\'s counts never go back and equal what was last seen', async () => {
  await fc.assert(fc.asyncProperty(steps, async (plan) => {
    const { registry: primary } = primaryRegistry();
    const group = newGroup(primary);
    let nextId = 1;
    /** Three slots, each with its live worker, its cluster id and what it had counted when last heard. */
    const slots = [0, 1, 2].map(() => ({ worker: new FakeWorker(), id: String(nextId++), heard: 0, counted: 0 }));
    let retiredHeard = 0;
    let round = 0;
    let previous = 0;
    for (const step of plan) {
      if (step.kind === 'count') {
        const slot = slots[step.worker]!;
        slot.worker.requests.inc({ caller: 'a' }, step.n);
        slot.counted += step.n;
      } else if (step.kind === 'kill') {
        const slot = slots[step.worker]!;
        group.retire(slot.id);
        retiredHeard += slot.heard;
        Object.assign(slot, { worker: new FakeWorker(), id: String(nextId++), heard: 0, counted: 0 });
      } else {
        round += 1;
        const unanswered: string[] = [];
        for (const [i, slot] of slots.entries()) {
          if (step.answering[i]) {
            group.record(slot.id, round, await slot.worker.snapshot());
            slot.heard = slot.counted;
          } else unanswered.push(slot.id);
        }
        const total = (await render(group, primary, unanswered)).sum('suitecrm_proxy_requests_total');
        assert.ok(total >= previous, `went back from ${previous} to ${total}`);
        assert.equal(total, retiredHeard + slots.reduce((sum, slot) => sum + slot.heard, 0));
        previous = total;
      }
    }
  }), { numRuns: 150 });
});
