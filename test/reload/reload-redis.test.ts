/**
 * TOKEN_STORE=redis: two replicas share one token. One of them reloads a new secret (it keeps the
 * shared token), then a new client id (it gets a token of its own under that credential's key);
 * the other replica's use of the shared token is never disturbed: it sends no token request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CLIENTS, startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxyReplica } from '../support/proxy-replica.js';
import { needRedis, startRedis } from '../support/redis-server.js';

const get = async (url: string): Promise<number> => {
  const res = await fetch(`${url}/Api/V8/current-user`);
  await res.arrayBuffer();
  return res.status;
};

test('a replica that reloads its credential does not disturb the others\' use of the shared token', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const crm = await startFakeSuiteCrm({ clients: [...DEFAULT_CLIENTS, { id: 'cc-client-2', secret: 'cc-two-secret-Vb4Nq8', grant: 'client_credentials', userId: '1' }] });
  t.after(() => crm.close());
  const dir = mkdtempSync(join(tmpdir(), 'reload-redis-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const shared = { SUITECRM_URL: crm.url, TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: randomBytes(32).toString('hex'), CONFIG_POLL_SECONDS: '0.5' };
  const configA = join(dir, 'a.yaml');
  writeFileSync(configA, 'SUITECRM_CLIENT_ID: cc-client\nSUITECRM_CLIENT_SECRET: cc-secret-S3cr3t!\n');
  const a = await startProxyReplica({ ...shared, CONFIG_FILE: configA });
  t.after(() => a.stop());
  const b = await startProxyReplica({ ...shared, SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!' });
  t.after(() => b.stop());

  assert.equal(await get(a.url), 200);
  assert.equal(await get(b.url), 200);
  assert.equal(crm.grantsIssued(), 1, 'one token for both');

  // A new secret for the same client: A keeps the shared token.
  let from = a.lines.length;
  writeFileSync(configA, 'SUITECRM_CLIENT_ID: cc-client\nSUITECRM_CLIENT_SECRET: cc-secret-rotated-Hn5Rk1\n');
  assert.ok(await a.waitForEvent('config_reloaded', from, 10_000));
  assert.deepEqual(a.events('config_reloaded', from)[0]?.changed, ['SUITECRM_CLIENT_SECRET']);
  assert.equal(await get(a.url), 200);
  assert.equal(await get(b.url), 200);
  assert.equal(crm.grantsIssued(), 1);

  // Another client: A gets its own token first; B goes on with the shared one, asking for nothing.
  from = a.lines.length;
  writeFileSync(configA, 'SUITECRM_CLIENT_ID: cc-client-2\nSUITECRM_CLIENT_SECRET: cc-two-secret-Vb4Nq8\n');
  assert.ok(await a.waitForEvent('config_reloaded', from, 10_000));
  assert.equal(a.events('config_reloaded', from)[0]?.credential, 'identity');
  assert.equal(crm.grantsIssued(), 2);
  assert.equal(crm.tokenRequests.at(-1)?.body.client_id, 'cc-client-2');
  for (let i = 0; i < 5; i++) {
    assert.equal(await get(a.url), 200);
    assert.equal(await get(b.url), 200);
  }
  assert.equal(crm.grantsIssued(), 2);
  assert.deepEqual(b.events('token_invalidated'), []);
});
