/**
 * The primary's side of the group scrape (MetricsCollector) with stand-in workers that answer
 * from real prom-client registries over a JSON copy, as IPC does; the collection's bounded wait
 * runs on node:test's mock timers. The real process group is in workers-metrics.test.ts.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { DEFAULT_COLLECT_TIMEOUT_MS, type PrimaryMetricsMessage, type WorkerMetricsMessage } from '../../src/cluster/metrics-messages.js';
import { MetricsCollector, type MetricsWorker } from '../../src/cluster/metrics-collector.js';
import { parseExposition } from '../support/prometheus-text.js';

/** A worker whose registry counts `requests`; it answers `collect` unless told to stay silent. */
class StandInWorker implements MetricsWorker {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'suitecrm_proxy_requests_total', help: 'h', registers: [this.registry] });
  readonly received: PrimaryMetricsMessage[] = [];
  silent = false;
  connected = true;
  collector!: MetricsCollector;

  constructor(readonly label: string, requests: number) {
    this.requests.inc(requests);
  }

  isConnected(): boolean {
    return this.connected;
  }

  send(message: PrimaryMetricsMessage): void {
    this.received.push(message);
    if (message.type !== 'collect' || this.silent) return;
    void this.registry.getMetricsAsJSON().then((metrics) => {
      const snapshot: WorkerMetricsMessage = { channel: message.channel, type: 'snapshot', round: message.round, metrics: JSON.parse(JSON.stringify(metrics)) as typeof metrics };
      this.collector.receive(this, snapshot);
    });
  }

  collects(): number {
    return this.received.filter((m) => m.type === 'collect').length;
  }
}

function setUp(workers: StandInWorker[], timeoutMs?: number) {
  const own = new Registry();
  const tokenRequests = new Counter({ name: 'suitecrm_proxy_token_requests_total', help: 'h', registers: [own] });
  tokenRequests.inc();
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  const missed: number[] = [];
  const collector = new MetricsCollector({ own, workers: () => workers, logger: pino(sink), unanswered: (n) => missed.push(n), timeoutMs });
  for (const worker of workers) worker.collector = collector;
  return { collector, logs, missed, own };
}

/** The primary's answer to the worker's scrape, once sent. */
async function expositionSentTo(worker: StandInWorker): Promise<PrimaryMetricsMessage> {
  const sent = (): PrimaryMetricsMessage | undefined => worker.received.find((m) => m.type === 'exposition');
  while (sent() === undefined) await new Promise((resolve) => setImmediate(resolve));
  return sent()!;
}

/** Lets the stand-ins' answers (promise chains without I/O) run: they all finish before the next macrotask. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test('every worker answers: the exposition sums them with the primary\'s own figures', async () => {
  const workers = [new StandInWorker('1', 7), new StandInWorker('2', 5)];
  const { collector, missed } = setUp(workers);
  const m = parseExposition(await collector.exposition());
  assert.equal(m.value('suitecrm_proxy_requests_total'), 12);
  assert.equal(m.value('suitecrm_proxy_token_requests_total'), 1);
  assert.deepEqual(missed, [0]);
});

test('a silent worker: the scrape ends after the bounded wait with its last answer, says so in the log, and its late answer is kept', async (t: TestContext) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const workers = [new StandInWorker('1', 7), new StandInWorker('2', 5)];
  const { collector, logs, missed } = setUp(workers);
  // First round: both answer, so the group has seen worker 2's 5.
  const first = collector.exposition();
  await settle();
  assert.equal(parseExposition(await first).value('suitecrm_proxy_requests_total'), 12);
  workers[1]!.silent = true;
  workers[1]!.requests.inc(3);
  let done = false;
  const second = collector.exposition().finally(() => { done = true; });
  await settle();
  t.mock.timers.tick(DEFAULT_COLLECT_TIMEOUT_MS - 1);
  await settle();
  assert.equal(done, false, 'waits for the silent worker up to the timeout');
  t.mock.timers.tick(1);
  assert.equal(parseExposition(await second).value('suitecrm_proxy_requests_total'), 12, 'worker 2 as it last answered');
  assert.deepEqual(missed, [0, 1]);
  const warned = logs.find((l) => l.event === 'metrics_workers_unanswered');
  assert.deepEqual(warned?.workers, ['2']);
  // The answer comes late: the next scrape has it even if worker 2 is silent again.
  collector.receive(workers[1]!, { channel: 'suitecrm-proxy-metrics', type: 'snapshot', round: 2, metrics: JSON.parse(JSON.stringify(await workers[1]!.registry.getMetricsAsJSON())) });
  const third = collector.exposition();
  await settle();
  t.mock.timers.tick(DEFAULT_COLLECT_TIMEOUT_MS);
  assert.equal(parseExposition(await third).value('suitecrm_proxy_requests_total'), 15);
});

test('scrapes during a round share it: one collect per worker', async () => {
  const workers = [new StandInWorker('1', 1), new StandInWorker('2', 1)];
  const { collector } = setUp(workers);
  const texts = await Promise.all([collector.exposition(), collector.exposition(), collector.exposition()]);
  assert.equal(new Set(texts).size, 1);
  assert.deepEqual(workers.map((w) => w.collects()), [1, 1]);
});

test('a worker that exits during a round ends the wait for it; its counts stay', async (t: TestContext) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const workers = [new StandInWorker('1', 7), new StandInWorker('2', 5)];
  const { collector, missed } = setUp(workers);
  const first = collector.exposition();
  await settle();
  await first;
  workers[1]!.silent = true;
  const second = collector.exposition();
  await settle();
  workers[1]!.connected = false;
  workers.pop();
  collector.workerExited('2');
  // No timer tick: the round ends because nothing is left to wait for.
  assert.equal(parseExposition(await second).value('suitecrm_proxy_requests_total'), 12);
  assert.deepEqual(missed, [0, 0]);
});

test('a disconnected worker is not asked; with no worker at all the primary answers alone', async () => {
  const gone = new StandInWorker('1', 3);
  gone.connected = false;
  const { collector } = setUp([gone]);
  const m = parseExposition(await collector.exposition());
  assert.equal(gone.collects(), 0);
  assert.equal(m.sum('suitecrm_proxy_requests_total'), 0);
  assert.equal(m.value('suitecrm_proxy_token_requests_total'), 1);
});

test('a worker\'s scrape is answered with the exposition under its id', async () => {
  const worker = new StandInWorker('1', 4);
  const { collector } = setUp([worker]);
  collector.receive(worker, { channel: 'suitecrm-proxy-metrics', type: 'scrape', id: 42 });
  const answer = await expositionSentTo(worker);
  assert.equal(answer.type === 'exposition' && answer.id, 42);
  assert.equal(parseExposition((answer as { text: string }).text).value('suitecrm_proxy_requests_total'), 4);
});

test('the group cannot be rendered (a metric of the primary throws): the worker is told, and the primary logs it as a bug', async () => {
  const worker = new StandInWorker('1', 4);
  const { collector, logs, own } = setUp([worker]);
  new Counter({ name: 'suitecrm_proxy_broken_total', help: 'h', registers: [own], collect() { throw new Error('broken collect'); } });
  collector.receive(worker, { channel: 'suitecrm-proxy-metrics', type: 'scrape', id: 7 });
  assert.deepEqual(await expositionSentTo(worker), { channel: 'suitecrm-proxy-metrics', type: 'exposition', id: 7, text: undefined });
  assert.equal(logs.find((l) => l.event === 'metrics_render_failed')?.level, 50);
});
