/**
 * Reloads inside one app (buildApp), driven directly so each path is deterministic: a rotation
 * that raced the renewal heals through the one re-read after SuiteCRM's rejection; a new client
 * id gets its token before the old one is dropped, and one that gets none changes nothing; a
 * Kubernetes-style `..data` symlink swap is noticed by the watcher.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_CLIENTS, startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { reloadableProxy, type ReloadableProxy } from '../support/reloadable-proxy.js';
import { until } from '../support/wait.js';
import { FileWatcher } from '../../src/reload/watcher.js';

const readText = (path: string): string => readFileSync(path, 'utf8');
let crm: FakeSuiteCrm;
let dir: string;

before(async () => {
  crm = await startFakeSuiteCrm({ clients: [...DEFAULT_CLIENTS, { id: 'cc-client-2', secret: 'cc-two-secret-Vb4Nq8', grant: 'client_credentials', userId: '1' }] });
  dir = mkdtempSync(join(tmpdir(), 'reload-app-'));
});

after(async () => {
  await crm.close();
  rmSync(dir, { recursive: true, force: true });
});

const reloadable = (name: string, settings: Record<string, string>): Promise<ReloadableProxy> => reloadableProxy(crm.url, dir, name, settings);

const get = async (url: string): Promise<number> => {
  const res = await fetch(`${url}/Api/V8/current-user`);
  await res.arrayBuffer();
  return res.status;
};

test('a rotation that raced the renewal heals at once: the rejection re-reads the secret file and retries', async () => {
  const secretFile = join(dir, 'race_secret');
  writeFileSync(secretFile, 'cc-secret-S3cr3t!\n');
  const { proxy } = await reloadable('race', { SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET_FILE: secretFile });
  try {
    assert.equal(await get(proxy.url), 200);
    const before = crm.tokenRequests.length;
    crm.setClientSecret('cc-client', 'race-new-secret-Kd2Lp9');
    writeFileSync(secretFile, 'race-new-secret-Kd2Lp9\n');
    crm.revokeAll();
    assert.equal(await get(proxy.url), 200);
    assert.deepEqual(crm.tokenRequests.slice(before).map((t) => t.status), [401, 200]);
    const [reloaded] = proxy.logEvents('config_reloaded');
    assert.equal(reloaded?.trigger, 'credentials_rejected');
    assert.deepEqual(reloaded?.changed, ['SUITECRM_CLIENT_SECRET']);
  } finally {
    crm.setClientSecret('cc-client', 'cc-secret-S3cr3t!');
    await proxy.close();
  }
});

test('a new client id obtains its token before the old one is dropped; one that gets none changes nothing', async () => {
  const { proxy, reloader, configPath } = await reloadable('identity', { SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!' });
  try {
    assert.equal(await get(proxy.url), 200);
    const old = proxy.app.tokens.source('default')?.current();
    writeFileSync(configPath, 'SUITECRM_CLIENT_ID: cc-client-2\nSUITECRM_CLIENT_SECRET: cc-two-secret-Vb4Nq8\n');
    const result = await reloader.reload('SIGHUP');
    assert.equal(result.outcome, 'success');
    // The swap happened with a token in hand: no request waits for one.
    const fresh = proxy.app.tokens.source('default')?.current();
    assert.ok(fresh !== undefined && fresh.accessToken !== old?.accessToken);
    assert.equal(crm.tokenRequests.at(-1)?.body.client_id, 'cc-client-2');
    assert.equal(await get(proxy.url), 200);

    writeFileSync(configPath, 'SUITECRM_CLIENT_ID: no-such-client\nSUITECRM_CLIENT_SECRET: cc-two-secret-Vb4Nq8\n');
    assert.deepEqual(await reloader.reload('SIGHUP'), { outcome: 'failed', setting: 'SUITECRM_CLIENT_ID' });
    assert.equal(proxy.app.tokens.source('default')?.current()?.accessToken, fresh.accessToken);
    assert.equal(await get(proxy.url), 200);
    assert.equal(proxy.logEvents('config_reload_failed')[0]?.setting, 'SUITECRM_CLIENT_ID');
  } finally {
    await proxy.close();
  }
});

test('a reload gives a caller its first rate limit and raises LOG_LEVEL for every component', async () => {
  const { proxy, reloader, configPath } = await reloadable('limits', { SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!' });
  try {
    assert.equal(await get(proxy.url), 200);
    assert.equal(await get(proxy.url), 200);
    writeFileSync(configPath, 'SUITECRM_CLIENT_ID: cc-client\nSUITECRM_CLIENT_SECRET: cc-secret-S3cr3t!\nPROXY_RATE_LIMIT_PER_SECOND: 0.01\nPROXY_RATE_LIMIT_BURST: 1\nLOG_LEVEL: warn\n');
    assert.equal((await reloader.reload('SIGHUP')).outcome, 'success');
    assert.deepEqual(proxy.logEvents('config_reloaded')[0]?.changed, ['PROXY_RATE_LIMIT_PER_SECOND', 'PROXY_RATE_LIMIT_BURST', 'LOG_LEVEL']);
    assert.equal(await get(proxy.url), 200);
    assert.equal(await get(proxy.url), 429);
    // The token manager's info lines (its logger is a child made at start-up) are gone too.
    crm.revokeAll();
    const lines = proxy.logs.length;
    await get(proxy.url);
    assert.deepEqual(proxy.logs.slice(lines).map((l) => (JSON.parse(l) as { level: number }).level).filter((level) => level < 40), []);
  } finally {
    await proxy.close();
  }
});

test('a reload changes UPSTREAM_TIMEOUT_SECONDS from the next proxied request on', async () => {
  const { proxy, reloader, configPath } = await reloadable('upstream-timeout', { SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!', UPSTREAM_TIMEOUT_SECONDS: '30' });
  try {
    assert.equal(await get(proxy.url), 200);
    writeFileSync(configPath, 'SUITECRM_CLIENT_ID: cc-client\nSUITECRM_CLIENT_SECRET: cc-secret-S3cr3t!\nUPSTREAM_TIMEOUT_SECONDS: 0.2\n');
    const result = await reloader.reload('SIGHUP');
    assert.equal(result.outcome, 'success');
    assert.deepEqual(proxy.logEvents('config_reloaded')[0]?.restartRequired, []);
    crm.faults.api = 'hang';
    const res = await fetch(`${proxy.url}/Api/V8/current-user`);
    assert.equal(res.status, 504, 'the new 0.2 s timeout applies; the old 30 s one would outlast this test');
    assert.equal(res.headers.get('x-suitecrm-proxy-error'), 'UPSTREAM_TIMEOUT');
  } finally {
    crm.faults.api = 'ok';
    await proxy.close();
  }
});

test('the local token endpoint takes a caller\'s new clientSecret; a removed caller\'s local token is refused', async () => {
  const tool = (secret: string): string => JSON.stringify([{ name: 'keyed', key: 'keyed-key-0123456789' }, { name: 'tool', clientId: 'tool-client', clientSecret: secret }]);
  const base = { SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!' };
  const { proxy, reloader, configPath } = await reloadable('local', { ...base, PROXY_CLIENTS: tool('tool-secret-old-0123456') });
  const login = async (secret: string): Promise<{ status: number; token?: string }> => {
    const res = await fetch(`${proxy.url}/Api/access_token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'tool-client', client_secret: secret }).toString(),
    });
    const body = await res.json() as { access_token?: string };
    return { status: res.status, token: body.access_token };
  };
  const rewrite = (clients: string): void => writeFileSync(configPath, `SUITECRM_CLIENT_ID: cc-client\nSUITECRM_CLIENT_SECRET: cc-secret-S3cr3t!\nPROXY_CLIENTS: ${JSON.stringify(clients)}\n`);
  try {
    assert.equal((await login('tool-secret-old-0123456')).status, 200);
    rewrite(tool('tool-secret-new-6543210'));
    assert.equal((await reloader.reload('SIGHUP')).outcome, 'success');
    assert.equal((await login('tool-secret-old-0123456')).status, 401);
    const { status, token } = await login('tool-secret-new-6543210');
    assert.equal(status, 200);
    const withToken = async (): Promise<number> => (await fetch(`${proxy.url}/Api/V8/current-user`, { headers: { authorization: `Bearer ${token}` } })).status;
    assert.equal(await withToken(), 200);
    rewrite(JSON.stringify([{ name: 'keyed', key: 'keyed-key-0123456789' }]));
    assert.deepEqual((await reloader.reload('SIGHUP')).outcome, 'success');
    assert.deepEqual(proxy.logEvents('config_reloaded').at(-1)?.callersRemoved, ['tool']);
    assert.equal(await withToken(), 401);
  } finally {
    await proxy.close();
  }
});

test('the watcher notices a Kubernetes Secret volume swapping its ..data symlink', async (t) => {
  const volume = join(dir, 'volume');
  mkdirSync(join(volume, '..2026_1'), { recursive: true });
  writeFileSync(join(volume, '..2026_1', 'key'), 'first');
  symlinkSync('..2026_1', join(volume, '..data'));
  symlinkSync('..data/key', join(volume, 'key'));
  let changes = 0;
  // A long poll: the directory's file event must do it.
  const watcher = new FileWatcher({ readFile: readText, pollMs: 10_000, onChange: () => { changes += 1; } });
  t.after(() => watcher.close());
  watcher.watch(new Map([[join(volume, 'key'), 'first']]));
  mkdirSync(join(volume, '..2026_2'));
  writeFileSync(join(volume, '..2026_2', 'key'), 'second');
  symlinkSync('..2026_2', join(volume, '..data_tmp'));
  renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
  await until('the change', () => changes === 1, 5_000);
});
