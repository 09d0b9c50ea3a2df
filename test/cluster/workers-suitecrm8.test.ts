/**
 * PROXY_WORKERS=2 in front of the SuiteCRM 8 double with SUITECRM_URL at the site: the primary
 * finds SuiteCRM's API once for the group and the workers forward there (src/cluster/api-base-sync.ts),
 * on either spelling; when SuiteCRM is down at start-up, the first token request finds it later.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, fetch } from 'undici';
import { burst } from '../support/burst.js';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { freePort } from '../support/free-port.js';
import { CC_ENV } from '../support/proxy-harness.js';
import { startProxyProcess, type ProxyProcess } from '../support/proxy-process.js';
import { until } from '../support/wait.js';

const client = new Agent({ connect: { timeout: 30_000 }, headersTimeout: 30_000, bodyTimeout: 30_000 });

async function group(suitecrmUrl: string): Promise<ProxyProcess> {
  const port = await freePort();
  return startProxyProcess({ ...CC_ENV, SUITECRM_URL: suitecrmUrl, PROXY_WORKERS: '2', PROXY_PORT: String(port) });
}

async function stop(proxy: ProxyProcess): Promise<void> {
  proxy.child.kill('SIGTERM');
  assert.equal(await proxy.exited, 0);
}

const requestLines = (proxy: ProxyProcess) => proxy.logs().filter((l) => l.msg === 'request');

test('the primary finds the API once; both workers forward both spellings there', async (t) => {
  const crm = await startFakeSuiteCrm({ layout: 'suitecrm8' });
  t.after(() => crm.close());
  const proxy = await group(crm.url);
  t.after(() => { if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL'); });
  const found = await proxy.waitForEvent('suitecrm_api_base');
  assert.equal(found.apiBase, '/legacy/Api');
  assert.equal(found.worker, undefined, 'found by the primary');

  const statuses = [
    ...await burst(`${proxy.url}/Api/V8/module/Accounts`, 100, client),
    ...await burst(`${proxy.url}/legacy/Api/V8/module/Accounts`, 100, client),
  ];
  assert.deepEqual([...new Set(statuses)], [200]);
  await until('every request log line', () => requestLines(proxy).length >= 200);
  assert.deepEqual([...new Set(requestLines(proxy).map((l) => l.worker))].sort(), [1, 2], 'both workers served');
  assert.deepEqual([...new Set(requestLines(proxy).map((l) => l.path))], ['/Api/V8/module/Accounts']);
  assert.deepEqual(crm.seenPaths.filter((path) => path.endsWith('/access_token')), ['/Api/access_token', '/legacy/Api/access_token', '/legacy/Api/access_token'],
    'one detection for the group (a 404, then the OAuth server), then one token request');
  assert.equal(crm.tokenRequestCount(), 1);
  const reads = crm.requests.filter((r) => r.method === 'GET');
  assert.equal(reads.length, 200);
  assert.ok(reads.every((r) => r.path === '/legacy/Api/V8/module/Accounts'));
  assert.equal(proxy.logs().filter((l) => l.event === 'suitecrm_api_base').length, 1);
  await stop(proxy);
});

test('SuiteCRM down at start-up: the group starts, and the first token request finds the API once SuiteCRM is up', async (t) => {
  const crm = await startFakeSuiteCrm({ layout: 'suitecrm8' });
  t.after(() => crm.close());
  await crm.stop();
  const proxy = await group(crm.url);
  t.after(() => { if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL'); });
  const failed = await proxy.waitForEvent('suitecrm_api_detection_failed');
  assert.equal(failed.cause, 'ECONNREFUSED');
  const down = await fetch(`${proxy.url}/legacy/Api/V8/module/Accounts`);
  assert.equal(down.status, 503);
  assert.equal(down.headers.get('x-suitecrm-proxy-error'), 'TOKEN_UNAVAILABLE');
  await down.arrayBuffer();

  await crm.start();
  // The token side backs off after the failure: poll until it tries again.
  await until('a request served', async () => (await fetch(`${proxy.url}/legacy/Api/V8/module/Accounts`, { dispatcher: client }).then(async (r) => (await r.arrayBuffer(), r.status))) === 200, 30_000);
  const statuses = [
    ...await burst(`${proxy.url}/Api/V8/module/Accounts`, 50, client),
    ...await burst(`${proxy.url}/legacy/Api/index.php/V8/module/Accounts`, 50, client),
  ];
  assert.deepEqual([...new Set(statuses)], [200]);
  const reads = crm.requests.filter((r) => r.method === 'GET');
  assert.ok(reads.length >= 101);
  assert.ok(reads.every((r) => r.path === '/legacy/Api/V8/module/Accounts'), 'both workers forward where the primary found the API');
  await until('every request log line', () => requestLines(proxy).filter((l) => l.status === 200).length >= 101);
  assert.deepEqual([...new Set(requestLines(proxy).filter((l) => l.status === 200).map((l) => l.worker))].sort(), [1, 2], 'both workers served');
  assert.deepEqual(crm.seenPaths.filter((path) => path.startsWith('/legacy/legacy')), []);
  await stop(proxy);
});
