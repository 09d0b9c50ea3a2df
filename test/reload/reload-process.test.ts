/**
 * Issue 14 end to end: the real proxy process (alone, and as PROXY_WORKERS=2) in front of the
 * SuiteCRM double, under a steady mixed load from a caller whose settings never change. The
 * SuiteCRM secret rotates (at the double and in its file) and every token is revoked; a
 * caller's key is replaced in PROXY_CLIENTS_FILE; a SIGHUP meets a broken file. Not one request
 * of the steady load may fail, and no secret may appear in the log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { LoadGenerator } from '../support/drill/load.js';
import { spawnProxyProcess, type ProxyProcess } from '../support/drill/proxy-process.js';
import { until } from '../support/wait.js';

const OLD_SECRET = 'cc-secret-S3cr3t!';
const NEW_SECRET = 'RELOAD-new-secret-Tq7Wm2';
const STEADY_KEY = 'RELOAD-key-steady-1f8e3b6a';
const OLD_KEY = 'RELOAD-key-etl-old-7c2d9e4f';
const NEW_KEY = 'RELOAD-key-etl-new-3a6b0c8d';
const SECRETS = [OLD_SECRET, NEW_SECRET, STEADY_KEY, OLD_KEY, NEW_KEY];

/** Replaces a file the way Kubernetes and editors do: a new file renamed over the old one. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function clients(etlKey: string): string {
  return JSON.stringify([{ name: 'steady', key: STEADY_KEY }, { name: 'etl', key: etlKey, methods: ['GET'] }]);
}

async function status(url: string, key: string): Promise<number> {
  const res = await fetch(`${url}/Api/V8/current-user`, { headers: { 'x-proxy-key': key }, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}

for (const workers of [1, 2]) {
  describe(`configuration reload, PROXY_WORKERS=${workers}`, () => {
    let crm: FakeSuiteCrm;
    let proxy: ProxyProcess;
    let load: LoadGenerator;
    let dir: string;
    const eventsNamed = (event: string): Array<Record<string, unknown>> => proxy.events.filter((e) => e.event === event);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'reload-'));
      writeFileSync(join(dir, 'client_secret'), `${OLD_SECRET}\n`);
      writeFileSync(join(dir, 'clients.json'), clients(OLD_KEY));
      crm = await startFakeSuiteCrm();
      proxy = await spawnProxyProcess({
        SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: 'cc-client',
        SUITECRM_CLIENT_SECRET_FILE: join(dir, 'client_secret'), PROXY_CLIENTS_FILE: join(dir, 'clients.json'),
        PROXY_WORKERS: String(workers), CONFIG_POLL_SECONDS: '1', LOG_LEVEL: 'debug',
      });
      load = new LoadGenerator({ baseUrl: proxy.url, workers: 4, pauseMs: 5, clientTimeoutMs: 20_000, headers: { 'x-proxy-key': STEADY_KEY } });
      load.start();
      await until('the steady load to run', () => load.results.length >= 40, 30_000);
    });

    after(async () => {
      await load.stop();
      await proxy.stop();
      await crm.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a rotated SuiteCRM secret is used from the next token request; every token revoked, nothing fails', async () => {
      const tokenRequestsBefore = crm.tokenRequests.length;
      crm.setClientSecret('cc-client', NEW_SECRET);
      replaceFile(join(dir, 'client_secret'), `${NEW_SECRET}\n`);
      await until('the reload', () => eventsNamed('config_reloaded').some((e) => (e.changed as string[]).includes('SUITECRM_CLIENT_SECRET')), 15_000);
      // The token in hand stays in use: the rotation itself asks SuiteCRM for nothing.
      assert.equal(crm.tokenRequests.length, tokenRequestsBefore);
      const seen = load.results.length;
      crm.revokeAll();
      await until('requests after the revocation', () => load.results.length >= seen + 100, 30_000);
      const after = crm.tokenRequests.slice(tokenRequestsBefore);
      assert.ok(after.length >= 1, 'a new token was requested');
      assert.deepEqual(after.map((t) => t.status), after.map(() => 200), 'the first token request after the rotation used the new secret');
      assert.deepEqual(load.results.filter((r) => !r.ok).map((r) => r.outcome), []);
    });

    test('a caller key replaced in PROXY_CLIENTS_FILE: the old key gets 401 within 10 s, the new one works', async () => {
      assert.equal(await status(proxy.url, OLD_KEY), 200);
      const replacedAt = Date.now();
      replaceFile(join(dir, 'clients.json'), clients(NEW_KEY));
      // Twenty 401s in a row: with two workers, both have taken the new callers.
      let refusedInARow = 0;
      await until('the old key to be refused', async () => {
        refusedInARow = (await status(proxy.url, OLD_KEY)) === 401 ? refusedInARow + 1 : 0;
        return refusedInARow >= 20;
      }, 10_000);
      assert.ok(Date.now() - replacedAt < 10_000);
      assert.equal(await status(proxy.url, NEW_KEY), 200);
      // Log lines are written in batches, at least once a second.
      await until('the reload line', () => eventsNamed('config_reloaded').length >= 2);
      const reloaded = eventsNamed('config_reloaded').at(-1)!;
      assert.deepEqual(reloaded.callersChanged, ['etl']);
      assert.deepEqual(reloaded.changed, ['PROXY_CLIENTS']);
      assert.deepEqual(load.results.filter((r) => !r.ok).map((r) => r.outcome), []);
    });

    test('SIGHUP with a broken file changes nothing: the proxy keeps serving and the log names the setting', async () => {
      replaceFile(join(dir, 'clients.json'), `[{"name":"etl","key":"${NEW_KEY}"`);
      proxy.child.kill('SIGHUP');
      await until('the failed reload', () => eventsNamed('config_reload_failed').length >= 1, 15_000);
      const failed = eventsNamed('config_reload_failed')[0]!;
      assert.equal(failed.setting, 'PROXY_CLIENTS');
      assert.equal(await status(proxy.url, NEW_KEY), 200);
      assert.equal(await status(proxy.url, OLD_KEY), 401);
      const seen = load.results.length;
      await until('more of the steady load', () => load.results.length >= seen + 50, 30_000);
      assert.deepEqual(load.results.filter((r) => !r.ok).map((r) => r.outcome), []);
      // Readiness reports the last successful reload; the counter counts both outcomes.
      const ready = await (await fetch(`${proxy.url}/_proxy/readyz`)).json() as { meta: { lastConfigReloadAt: string | null } };
      assert.ok(ready.meta.lastConfigReloadAt !== null && Date.parse(ready.meta.lastConfigReloadAt) > 0);
      const metrics = await (await fetch(`${proxy.url}/_proxy/metrics`)).text();
      assert.match(metrics, /suitecrm_proxy_config_reloads_total\{outcome="success"\} [1-9]/);
      assert.match(metrics, /suitecrm_proxy_config_reloads_total\{outcome="failed"\} [1-9]/);
    });

    test('no secret in any log line', () => {
      const text = proxy.events.map((e) => JSON.stringify(e)).join('\n') + proxy.stderr();
      assert.deepEqual(SECRETS.filter((secret) => text.includes(secret)), []);
    });
  });
}
