/**
 * A worker's side of the group scrape (groupMetricsExposition) over a stand-in IPC channel: it
 * answers the primary's collect with its registry, and a scrape waits for the primary's text,
 * failing with METRICS_UNAVAILABLE (never with this worker's counts alone) when none comes.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { isProxyError } from '../../src/errors.js';
import { METRICS_CHANNEL, type PrimaryMetricsMessage, type WorkerMetricsMessage } from '../../src/cluster/metrics-messages.js';
import { groupMetricsExposition } from '../../src/cluster/worker-metrics.js';

function setUp(answerTimeoutMs?: number) {
  const registry = new Registry();
  new Counter({ name: 'suitecrm_proxy_requests_total', help: 'h', registers: [registry] }).inc(3);
  const sent: WorkerMetricsMessage[] = [];
  let listener: (message: unknown) => void = () => undefined;
  const exposition = groupMetricsExposition(registry, { send: (m) => sent.push(m), onMessage: (l) => { listener = l; } }, pino({ enabled: false }), answerTimeoutMs);
  const fromPrimary = (message: PrimaryMetricsMessage): void => listener(message);
  return { exposition, sent, fromPrimary, other: (message: unknown) => listener(message) };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

test('the primary\'s collect is answered with this worker\'s registry under the round\'s number', async () => {
  const { sent, fromPrimary, other } = setUp();
  other({ channel: 'suitecrm-proxy-token', type: 'collect', round: 1 });
  other('not an object');
  fromPrimary({ channel: METRICS_CHANNEL, type: 'collect', round: 7 });
  await until(() => sent.length > 0);
  assert.equal(sent.length, 1, 'only messages of the metrics channel are answered');
  const [answer] = sent;
  assert.equal(answer?.type, 'snapshot');
  assert.equal(answer.type === 'snapshot' && answer.round, 7);
  const requests = answer.type === 'snapshot' ? answer.metrics.find((m) => m.name === 'suitecrm_proxy_requests_total') : undefined;
  assert.equal(requests?.values[0]?.value, 3);
});

test('a scrape asks the primary and answers with its text', async () => {
  const { exposition, sent, fromPrimary } = setUp();
  const scrape = exposition();
  const [ask] = sent;
  assert.equal(ask?.type, 'scrape');
  fromPrimary({ channel: METRICS_CHANNEL, type: 'exposition', id: ask.type === 'scrape' ? ask.id + 1 : 0, text: 'not mine' });
  fromPrimary({ channel: METRICS_CHANNEL, type: 'exposition', id: ask.type === 'scrape' ? ask.id : 0, text: 'group text' });
  assert.equal(await scrape, 'group text');
});

test('no answer from the primary in time: 503 METRICS_UNAVAILABLE naming the wait', async (t: TestContext) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { exposition } = setUp(5000);
  const scrape = exposition();
  t.mock.timers.tick(5000);
  await assert.rejects(scrape, (err: unknown) => isProxyError(err) && err.code === 'METRICS_UNAVAILABLE' && err.status === 503 && /5000 ms/.test(err.detail));
});

test('the primary could not render: 503 METRICS_UNAVAILABLE at once', async () => {
  const { exposition, sent, fromPrimary } = setUp();
  const scrape = exposition();
  const [ask] = sent;
  fromPrimary({ channel: METRICS_CHANNEL, type: 'exposition', id: ask?.type === 'scrape' ? ask.id : 0, text: undefined });
  await assert.rejects(scrape, (err: unknown) => isProxyError(err) && err.code === 'METRICS_UNAVAILABLE');
});
