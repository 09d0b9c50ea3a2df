/** The request-path metric primitives render exactly what prom-client's own metrics would. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { BucketHistogram, SeriesCounter } from '../../src/admin/metric-series.js';
import { parseExposition } from '../support/prometheus-text.js';

const BUCKETS = [0.005, 0.01, 0.1, 1, 10];
// Values on, between, below and above the bounds.
const VALUES = [0, 0.005, 0.0051, 0.01, 0.05, 0.1, 0.5, 1, 1.0001, 9.99, 10, 11, 120];

test('BucketHistogram renders the same text as prom-client\'s Histogram', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new BucketHistogram({ name: 'x_seconds', help: 'h', buckets: BUCKETS, registry: ours });
  const reference = new Histogram({ name: 'x_seconds', help: 'h', buckets: BUCKETS, registers: [theirs] });
  for (const value of VALUES) {
    fast.record(value);
    reference.observe(value);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  const m = parseExposition(await ours.metrics());
  assert.equal(m.value('x_seconds_bucket', { le: '0.005' }), 2, 'a value on a bound counts in that bucket');
  assert.equal(m.value('x_seconds_count'), VALUES.length);
  const strip = ({ labels, value, metricName }: { labels: object; value: number; metricName?: string }) => ({ labels, value, metricName });
  assert.deepEqual((await fast.get()).values.map(strip), (await reference.get()).values.map(strip), 'get() too (JSON export)');
});

test('an empty BucketHistogram renders zeros like prom-client', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  new BucketHistogram({ name: 'y_seconds', help: 'h', buckets: BUCKETS, registry: ours });
  new Histogram({ name: 'y_seconds', help: 'h', buckets: BUCKETS, registers: [theirs] });
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('SeriesCounter counts series by index and keeps counting across scrapes', async () => {
  const registry = new Registry();
  const series = [{ outcome: 'a' }, { outcome: 'b' }, { outcome: 'c' }];
  const counter = new SeriesCounter({ name: 'z_total', help: 'h', labelNames: ['outcome'], series, registry, showZero: true });
  counter.inc(0);
  counter.inc(2);
  counter.inc(2);
  let m = parseExposition(await registry.metrics());
  assert.deepEqual(series.map(({ outcome }) => m.value('z_total', { outcome })), [1, 0, 2]);
  counter.inc(1);
  m = parseExposition(await registry.metrics());
  assert.deepEqual(series.map(({ outcome }) => m.value('z_total', { outcome })), [1, 1, 2], 'a scrape does not reset the counts');
});

test('SeriesCounter leaves out series that never counted unless showZero, and splits by an open key label', async () => {
  const registry = new Registry();
  const series = [{ method: 'GET' }, { method: 'POST' }];
  const counter = new SeriesCounter({ name: 'r_total', help: 'h', labelNames: ['method'], series, registry, keyLabel: 'caller' });
  counter.inc(0, 'billing');
  counter.inc(0, 'billing');
  counter.inc(1, 'crm-sync');
  const reference = new Registry();
  const expected = new Counter({ name: 'r_total', help: 'h', labelNames: ['method', 'caller'], registers: [reference] });
  expected.inc({ method: 'GET', caller: 'billing' }, 2);
  expected.inc({ method: 'POST', caller: 'crm-sync' }, 1);
  assert.equal(await registry.metrics(), await reference.metrics());
});
