/**
 * GET /_proxy/metrics after a scripted run against the SuiteCRM double: every proxy metric is
 * compared with what the client saw and what the double recorded, not with hard-coded guesses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROXY_ERROR_HEADER } from '../../src/errors.js';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { parseExposition } from '../support/prometheus-text.js';
import { CC_ENV, startProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

/** Token metrics carry the SuiteCRM credential; these tests use the one named default. */
const D = { credential: 'default' };

test('metrics after a scripted run match what clients saw and what SuiteCRM recorded', async (t) => {
  const fake = await startFakeSuiteCrm();
  t.after(() => fake.close());
  const clock = { now: Date.now() };
  const proxy = await startProxy(fake.url, {}, { now: () => clock.now });
  t.after(() => proxy.close());
  const { app, url: base } = proxy;

  /** What the clients saw, by "METHOD class". */
  const seen = new Map<string, number>();
  let answeredByUpstream = 0;
  const send = async (method: string, path: string, body?: string): Promise<Response> => {
    const response = await fetch(base + path, { method, body });
    await response.arrayBuffer();
    const key = `${method} ${Math.trunc(response.status / 100)}xx`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (!response.headers.has(PROXY_ERROR_HEADER)) answeredByUpstream += 1;
    return response;
  };

  assert.equal((await fetch(`${base}/_proxy/healthz`)).status, 200, 'admin calls are not counted');
  for (let i = 0; i < 3; i++) assert.equal((await send('GET', '/Api/V8/module/Accounts')).status, 200);
  assert.equal((await send('POST', '/Api/V8/custom/echo', 'x'.repeat(1000))).status, 200);
  assert.equal((await send('DELETE', '/Api/V8/custom/echo')).status, 200);

  // Replay that succeeds: SuiteCRM forgot every token.
  fake.revokeAll();
  assert.equal((await send('GET', '/Api/V8/module/Accounts')).status, 200);

  // Replay rejected again: SuiteCRM refuses every token; then it recovers.
  fake.faults.rejectAllTokens = true;
  assert.equal((await send('GET', '/Api/V8/module/Accounts')).status, 401);
  fake.faults.rejectAllTokens = false;
  assert.equal((await send('GET', '/Api/V8/module/Accounts')).status, 200);

  // Replay that fails: the token is gone and the token endpoint is down.
  fake.revokeAll();
  fake.faults.tokenEndpoint = 'error500';
  const failed = await send('GET', '/Api/V8/module/Accounts');
  assert.equal(failed.status, 503);
  fake.faults.tokenEndpoint = 'ok';
  clock.now += 120_000; // past the token backoff
  assert.equal((await send('PATCH', '/Api/V8/custom/echo', '{}')).status, 200);

  // Refresh ahead: close to expiry, a request starts one background renewal.
  const issuedBefore = fake.grantsIssued();
  clock.now += 3_540_000;
  assert.equal((await send('GET', '/Api/V8/module/Accounts')).status, 200);
  await until('the refresh-ahead token', () => fake.grantsIssued() === issuedBefore + 1 && !app.tokens.source('default')?.status().renewing);

  // In flight: one request held by a slow SuiteCRM.
  fake.faults.apiDelayMs = 3000;
  const slow = send('GET', '/Api/V8/module/Contacts');
  await until('the slow request to reach SuiteCRM', () => fake.requests.some((r) => r.path === '/Api/V8/module/Contacts' && r.status === 0));
  const during = parseExposition((await app.inject({ url: '/_proxy/metrics' })).body);
  assert.equal(during.value('suitecrm_proxy_requests_in_flight'), 1);
  assert.equal((await slow).status, 200);
  fake.faults.apiDelayMs = 0;

  // SuiteCRM drops the connection: the proxy answers 502.
  fake.faults.api = 'reset';
  assert.equal((await send('GET', '/Api/V8/module/Accounts')).status, 502);
  fake.faults.api = 'ok';

  const scrape = await fetch(`${base}/_proxy/metrics`);
  assert.equal(scrape.status, 200);
  assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await scrape.text();
  assert.ok(!text.includes(CC_ENV.SUITECRM_CLIENT_SECRET) && !text.includes('Bearer'), 'no secret or token in the metrics');
  const m = parseExposition(text);

  for (const [key, count] of seen) {
    const [method, statusClass] = key.split(' ') as [string, string];
    assert.equal(m.value('suitecrm_proxy_requests_total', { method, status_class: statusClass, caller: 'anonymous' }), count, key);
  }
  assert.equal(m.sum('suitecrm_proxy_requests_total'), [...seen.values()].reduce((a, b) => a + b, 0), 'only proxied requests are counted');
  assert.equal(m.value('suitecrm_proxy_upstream_duration_seconds_count'), answeredByUpstream);
  assert.equal(m.value('suitecrm_proxy_upstream_duration_seconds_bucket', { le: '+Inf' }), answeredByUpstream);
  assert.ok(m.value('suitecrm_proxy_upstream_duration_seconds_sum') >= 3, 'the 3 s slow answer is in the sum');

  assert.equal(m.value('suitecrm_proxy_replays_total', { outcome: 'success' }), 1);
  assert.equal(m.value('suitecrm_proxy_replays_total', { outcome: 'rejected' }), 1);
  assert.equal(m.value('suitecrm_proxy_replays_total', { outcome: 'failed' }), 1);
  assert.equal(m.value('suitecrm_proxy_token_invalidations_total', D), 3);
  assert.equal(m.value('suitecrm_proxy_token_refreshes_ahead_total', D), 1);

  assert.equal(m.sum('suitecrm_proxy_token_requests_total'), fake.tokenRequestCount());
  assert.equal(m.value('suitecrm_proxy_token_requests_total', { grant: 'client_credentials', outcome: 'success', ...D }), fake.grantsIssued());
  assert.equal(m.value('suitecrm_proxy_token_requests_total', { grant: 'client_credentials', outcome: 'transient', ...D }),
    fake.tokenRequests.filter((r) => r.status >= 500).length);
  assert.equal(m.value('suitecrm_proxy_token_request_duration_seconds_count', { grant: 'client_credentials', ...D }), fake.tokenRequestCount());

  const expiresIn = m.value('suitecrm_proxy_token_expires_in_seconds', D);
  assert.ok(expiresIn > 3500 && expiresIn <= 3600, `token expires in ${expiresIn} s`);
  assert.equal(m.value('suitecrm_proxy_requests_in_flight'), 0);

  // Conventions and default process metrics.
  for (const [name, type] of m.types) {
    if (!name.startsWith('suitecrm_proxy_')) continue;
    if (type === 'counter') assert.match(name, /_total$/, name);
    if (type === 'histogram') assert.match(name, /_seconds$/, name);
  }
  assert.equal(m.types.get('suitecrm_proxy_token_expires_in_seconds'), 'gauge');
  assert.ok(m.value('process_cpu_user_seconds_total') > 0);
  assert.ok(m.types.has('nodejs_eventloop_lag_seconds'));
  // One process: no `worker` label and none of the PROXY_WORKERS group's own metrics.
  assert.deepEqual(m.samples.filter((s) => s.labels.worker !== undefined).map((s) => s.name), []);
  assert.ok(!m.types.has('suitecrm_proxy_workers_replaced_total') && !m.types.has('suitecrm_proxy_metrics_workers_unanswered'));
});

test('each app has its own registry', async (t) => {
  const fake = await startFakeSuiteCrm();
  t.after(() => fake.close());
  const first = await startProxy(fake.url);
  const second = await startProxy(fake.url);
  t.after(() => Promise.all([first.close(), second.close()]));
  assert.equal((await fetch(`${first.url}/Api/V8/module/Accounts`)).status, 200);
  const one = parseExposition(await (await fetch(`${first.url}/_proxy/metrics`)).text());
  const two = parseExposition(await (await fetch(`${second.url}/_proxy/metrics`)).text());
  assert.equal(one.value('suitecrm_proxy_requests_total', { method: 'GET', status_class: '2xx', caller: 'anonymous' }), 1);
  assert.equal(two.sum('suitecrm_proxy_requests_total'), 0);
  assert.equal(two.value('suitecrm_proxy_token_expires_in_seconds', D), 0, 'no token yet');
});

test('methods outside the proxied set are counted as other', async (t) => {
  const fake = await startFakeSuiteCrm();
  t.after(() => fake.close());
  const proxy = await startProxy(fake.url);
  t.after(() => proxy.close());
  assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`, { method: 'PROPFIND' })).status, 404);
  const m = parseExposition(await (await fetch(`${proxy.url}/_proxy/metrics`)).text());
  assert.equal(m.value('suitecrm_proxy_requests_total', { method: 'other', status_class: '4xx', caller: 'anonymous' }), 1);
});
