/**
 * Issue 22, point 2: a caller that hangs up before its answer, at each stage of its request
 * (waiting for a token: it aborts; waiting for SuiteCRM: its client times out; while the answer
 * streams: its connection is reset), gives exactly one request line at info with status 499, is
 * counted in the request metrics, and its request to SuiteCRM is aborted (the double sees the
 * connection close) or never sent. Never a line at error level.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { parseExposition } from '../support/prometheus-text.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

const KEY = 'gone-key-5e1c9a7f3b2d';
const LEVEL_INFO = 30;

interface Line { level: number; msg: string; path?: string; status?: number; caller?: string; credential?: string; ms?: number }

describe('a caller that hangs up before its answer', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;
  const lines = (): Line[] => proxy.logs.map((l) => JSON.parse(l) as Line);
  const requestLines = (path: string): Line[] => lines().filter((l) => l.msg === 'request' && l.path === path);

  before(async () => {
    crm = await startFakeSuiteCrm();
    proxy = await startProxy(crm.url, { LOG_LEVEL: 'info', PROXY_CLIENTS: JSON.stringify([{ name: 'etl', key: KEY }]) });
  });
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  /** The one line of `path`: at info, status 499, with caller, credential and the time spent. */
  async function assertOne499(path: string): Promise<void> {
    await until(`the request line of ${path}`, () => requestLines(path).length > 0);
    const [line, ...more] = requestLines(path);
    assert.deepEqual(more, [], 'exactly one request line');
    assert.equal(line!.level, LEVEL_INFO);
    assert.equal(line!.status, 499);
    assert.equal(line!.caller, 'etl');
    assert.equal(line!.credential, 'default');
    assert.equal(typeof line!.ms, 'number');
  }

  test('while it waits for a token (it aborts): one 499 line; the request is never sent to SuiteCRM', async () => {
    let release!: () => void;
    crm.faults.tokenHold = { clientIds: ['cc-client'], until: new Promise<void>((resolve) => { release = resolve; }) };
    const aborted = new AbortController();
    const call = fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY }, signal: aborted.signal }).catch((err: Error) => err.name);
    await until('the held token request', () => crm.tokenRequests.length === 1);
    aborted.abort();
    assert.equal(await call, 'AbortError');
    await assertOne499('/Api/V8/module/Accounts');
    release();
    await until('the token', () => proxy.logEvents('token_obtained').length === 1);
    crm.faults = {};
    // The token came; the abandoned request still went nowhere (a later request goes through and is the only one).
    const res = await fetch(`${proxy.url}/Api/V8/current-user`, { headers: { 'x-proxy-key': KEY } });
    assert.equal(res.status, 200);
    assert.deepEqual(crm.requests.map((r) => r.path), ['/Api/V8/current-user']);
  });

  test('while it waits for SuiteCRM (its client times out): one 499 line; the upstream request is aborted', async () => {
    let release!: () => void;
    crm.faults.apiHold = { until: new Promise<void>((resolve) => { release = resolve; }) };
    const path = '/Api/V8/module/Contacts';
    const outcome = await fetch(`${proxy.url}${path}`, { headers: { 'x-proxy-key': KEY }, signal: AbortSignal.timeout(300) }).catch((err: Error) => err.name);
    assert.equal(outcome, 'TimeoutError');
    await assertOne499(path);
    const upstream = crm.requests.find((r) => r.path === path)!;
    await until('SuiteCRM to see the connection close', () => upstream.closedBeforeAnswer);
    release();
    crm.faults = {};
  });

  test('while the answer streams (its connection is reset): one 499 line; SuiteCRM stops sending', async () => {
    const path = '/Api/V8/custom/big';
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${proxy.url}${path}?bytes=500000000`, { headers: { 'x-proxy-key': KEY } }, (res) => {
        res.once('data', () => req.destroy());
      });
      req.on('close', resolve);
      req.on('error', () => undefined);
      req.end();
    });
    await assertOne499(path);
    const upstream = crm.requests.find((r) => r.path.startsWith(path))!;
    await until('SuiteCRM to see the connection close', () => upstream.closedBeforeAnswer);
  });

  test('each is counted in the request metrics, none is left in flight, and nothing is logged as an error', async () => {
    const scrape = async () => parseExposition(await (await fetch(`${proxy.url}/_proxy/metrics`)).text());
    await until('no request in flight', async () => (await scrape()).value('suitecrm_proxy_requests_in_flight') === 0);
    const metrics = await scrape();
    assert.equal(metrics.value('suitecrm_proxy_requests_total', { method: 'GET', status_class: '4xx', caller: 'etl' }), 3);
    assert.deepEqual(lines().filter((l) => l.level >= 40).map((l) => l.msg), [], 'no warning or error line');
  });
});
