/**
 * Issue 19 item 5 end to end: PROXY_WORKERS=2 as a real process group in front of the SuiteCRM
 * double. Whichever worker takes GET /_proxy/metrics, the scrape shows the whole group: every
 * worker's requests summed, the primary's token request, per-process figures with a `worker`
 * label. A stopped worker does not hang the scrape; a worker killed with SIGKILL and replaced
 * leaves its counts in the sums; no counter of any scrape is ever lower than in the one before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { processTree } from '../../bench/procfs.js';
import { burst } from '../support/burst.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { parseExposition, type Exposition } from '../support/prometheus-text.js';
import { CC_ENV } from '../support/proxy-harness.js';
import { startProxyProcess, type ProxyProcess } from '../support/proxy-process.js';
import { until } from '../support/wait.js';

const TOKEN_REQUEST = { grant: 'client_credentials', outcome: 'success', credential: 'default' };

/** The pids of the primary's cluster workers (its descendants, from /proc). */
function childPids(pid: number): number[] {
  return processTree(pid).slice(1);
}

/** The `worker` labels of one per-process metric in a scrape, sorted. */
function workerLabels(scrape: Exposition, name: string): string[] {
  return scrape.samples.filter((s) => s.name === name).map((s) => s.labels.worker ?? '(none)').sort();
}

/** The metric family a sample belongs to (a histogram's _bucket, _sum and _count are its family's). */
function family(scrape: Exposition, name: string): string {
  return scrape.types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
}

/** Every counter and histogram sample of the group (no `worker` label) of `earlier` is in `later`, not lower. */
function assertNeverBack(earlier: Exposition, later: Exposition, what: string): void {
  for (const sample of earlier.samples) {
    const type = earlier.types.get(family(earlier, sample.name));
    if ((type !== 'counter' && type !== 'histogram') || sample.labels.worker !== undefined) continue;
    const now = later.samples.find((s) => s.name === sample.name && JSON.stringify(s.labels) === JSON.stringify(sample.labels));
    assert.ok(now !== undefined && now.value >= sample.value,
      `${what}: ${sample.name}${JSON.stringify(sample.labels)} went from ${sample.value} to ${now?.value ?? 'absent'}`);
  }
}

describe('PROXY_WORKERS=2: one scrape shows the whole group', () => {
  let crm: FakeSuiteCrm;
  let proxy: ProxyProcess;
  /** Every scrape of the run, in order, for the never-back check. */
  const scrapes: Exposition[] = [];
  const client = new Agent({ connect: { timeout: 30_000 }, headersTimeout: 30_000, bodyTimeout: 30_000 });

  /** A GET on a connection of its own, so the cluster hands it to the next free worker. */
  async function freshGet(path: string): Promise<{ status: number; text: string }> {
    const agent = new Agent({ pipelining: 0 });
    try {
      const response = await fetch(proxy.url + path, { dispatcher: agent, signal: AbortSignal.timeout(30_000) });
      return { status: response.status, text: await response.text() };
    } finally {
      await agent.destroy();
    }
  }

  async function scrape(): Promise<Exposition> {
    const { status, text } = await freshGet('/_proxy/metrics');
    assert.equal(status, 200, text);
    const parsed = parseExposition(text);
    scrapes.push(parsed);
    return parsed;
  }

  const listening = (): number => proxy.logs().filter((l) => String(l.msg).startsWith('Server listening')).length;

  before(async () => {
    crm = await startFakeSuiteCrm();
    proxy = await startProxyProcess({ ...CC_ENV, SUITECRM_URL: crm.url, PROXY_WORKERS: '2' });
    await until('two workers listening', () => listening() === 2, 30_000);
  });

  after(async () => {
    await client.close();
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL');
    await proxy.exited;
    await crm.close();
  });

  test('20 requests over both workers: four scrapes each count all 20 and the primary\'s one token request', async () => {
    assert.deepEqual([...new Set(await burst(`${proxy.url}/Api/V8/current-user`, 20, client))], [200]);
    await until('the request log lines', () => proxy.logs().filter((l) => l.msg === 'request').length === 20);
    const served = new Set(proxy.logs().filter((l) => l.msg === 'request').map((l) => l.worker));
    assert.deepEqual([...served].sort(), [1, 2], 'both workers served some of the 20');
    assert.equal(crm.tokenRequestCount(), 1);
    for (let i = 0; i < 4; i++) {
      const group = await scrape();
      assert.equal(group.sum('suitecrm_proxy_requests_total'), 20, `scrape ${i + 1}`);
      assert.equal(group.value('suitecrm_proxy_requests_total', { method: 'GET', status_class: '2xx', caller: 'anonymous' }), 20);
      assert.equal(group.value('suitecrm_proxy_upstream_duration_seconds_count'), 20);
      assert.equal(group.value('suitecrm_proxy_token_requests_total', TOKEN_REQUEST), 1, 'the primary\'s token request');
      assert.equal(group.sum('suitecrm_proxy_token_requests_total'), 1);
      assert.equal(group.value('suitecrm_proxy_token_request_duration_seconds_count', { grant: 'client_credentials', credential: 'default' }), 1);
      assert.ok(group.value('suitecrm_proxy_token_expires_in_seconds', { credential: 'default' }) > 0, 'one expiry: the primary\'s, not one per process');
      assert.equal(group.value('suitecrm_proxy_metrics_workers_unanswered'), 0);
      assert.deepEqual(workerLabels(group, 'process_resident_memory_bytes'), ['1', '2', 'primary']);
      assert.deepEqual(workerLabels(group, 'nodejs_eventloop_lag_p99_seconds'), ['1', '2', 'primary']);
      assert.deepEqual(workerLabels(group, 'suitecrm_proxy_requests_in_flight'), ['1', '2']);
      const unlabelled = group.samples.filter((s) => /^(process|nodejs)_/.test(s.name) && s.labels.worker === undefined);
      assert.deepEqual(unlabelled.map((s) => s.name), [], 'every per-process figure names its process');
    }
  });

  test('a stopped worker does not hang the scrape: its counts as it last answered, its gauges left out, and a log line', async (t) => {
    const [, stoppedPid] = childPids(proxy.child.pid!);
    process.kill(stoppedPid!, 'SIGSTOP');
    try {
      // Two new connections: round robin hands one to each free worker, so the stopped worker
      // takes one (and no more until it runs again); the running worker answers the other.
      const held = [freshGet('/_proxy/healthz'), freshGet('/_proxy/healthz')];
      await Promise.race(held);
      const started = performance.now();
      const during = await scrape();
      const waitedMs = performance.now() - started;
      assert.equal(during.sum('suitecrm_proxy_requests_total'), 20);
      assert.equal(during.value('suitecrm_proxy_token_requests_total', TOKEN_REQUEST), 1);
      assert.equal(during.value('suitecrm_proxy_metrics_workers_unanswered'), 1);
      const warned = await proxy.waitForEvent('metrics_workers_unanswered');
      const [stopped] = warned.workers as string[];
      assert.deepEqual(warned.workers, [stopped]);
      const running = ['1', '2'].filter((w) => w !== stopped);
      assert.deepEqual(workerLabels(during, 'process_resident_memory_bytes'), [...running, 'primary']);
      assert.deepEqual(workerLabels(during, 'suitecrm_proxy_requests_in_flight'), running);
      process.kill(stoppedPid!, 'SIGCONT');
      assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200]);
      const afterwards = await scrape();
      assert.equal(afterwards.value('suitecrm_proxy_metrics_workers_unanswered'), 0);
      assert.deepEqual(workerLabels(afterwards, 'process_resident_memory_bytes'), ['1', '2', 'primary']);
      // Bounded by the primary's wait for the workers (2 s), however long the worker stays stopped.
      t.diagnostic(`scrape with a stopped worker took ${Math.round(waitedMs)} ms`);
    } finally {
      process.kill(stoppedPid!, 'SIGCONT');
    }
  });

  test('a worker killed with SIGKILL and replaced: the group\'s counters do not go back', async () => {
    assert.deepEqual([...new Set(await burst(`${proxy.url}/Api/V8/current-user`, 10, client))], [200]);
    const beforeKill = await scrape();
    assert.equal(beforeKill.sum('suitecrm_proxy_requests_total'), 30);
    const [killedPid] = childPids(proxy.child.pid!);
    process.kill(killedPid!, 'SIGKILL');
    await proxy.waitForEvent('worker_exited');
    await until('the replacement worker listening', () => listening() === 3, 30_000);
    const replaced = await scrape();
    assert.equal(replaced.sum('suitecrm_proxy_requests_total'), 30, 'the killed worker\'s counts stay in the sum');
    assert.equal(replaced.value('suitecrm_proxy_upstream_duration_seconds_count'), 30);
    assert.equal(replaced.value('suitecrm_proxy_workers_replaced_total'), 1);
    const labels = workerLabels(replaced, 'process_resident_memory_bytes');
    assert.equal(labels.length, 3);
    assert.ok(labels.includes('3') && labels.includes('primary'), `the replacement has the next cluster id: ${labels.join()}`);
    assert.deepEqual([...new Set(await burst(`${proxy.url}/Api/V8/current-user`, 10, client))], [200]);
    for (let i = 0; i < 4; i++) assert.equal((await scrape()).sum('suitecrm_proxy_requests_total'), 40);
    assert.equal(scrapes.at(-1)!.value('suitecrm_proxy_token_requests_total', TOKEN_REQUEST), 1);
  });

  test('no counter or histogram of the group was ever lower than in the scrape before', () => {
    assert.ok(scrapes.length >= 12);
    for (let i = 1; i < scrapes.length; i++) assertNeverBack(scrapes[i - 1]!, scrapes[i]!, `scrape ${i + 1}`);
  });
});
