/**
 * The app with TOKEN_STORE=redis, in process: a proxy that starts while Redis is down serves
 * anyway (readiness included) and logs the outage once; when Redis comes up, renewals go
 * through the shared store again and a second proxy adopts the token instead of minting one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { request } from 'undici';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { needRedis, startRedis } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function get(proxy: RunningProxy, path = '/Api/V8/module/Accounts'): Promise<{ status: number; body: string }> {
  const response = await request(`${proxy.url}${path}`);
  return { status: response.statusCode, body: await response.body.text() };
}

test('Redis down at start-up: the proxy serves alone; Redis up later: the fleet shares again', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t, { deferStart: true });
  const fake = await startFakeSuiteCrm();
  t.after(() => fake.close());
  const key = randomBytes(32).toString('base64');
  const env = { TOKEN_STORE: 'redis', REDIS_URL: `redis://:redis-pass-Rr3@127.0.0.1:${redis.port}`, TOKEN_STORE_KEY: key };
  const first = await startProxy(fake.url, env);
  t.after(() => first.close());

  assert.equal((await get(first)).status, 200);
  const ready = await get(first, '/_proxy/readyz');
  assert.equal(ready.status, 200, 'readiness does not depend on Redis');
  assert.deepEqual((JSON.parse(ready.body) as { meta: Record<string, unknown> }).meta.tokenStoreShared, false);
  fake.revokeAll();
  assert.equal((await get(first)).status, 200, 'a second renewal while Redis is down works too');
  assert.equal(fake.grantsIssued(), 2);
  assert.equal(first.logEvents('token_store_unavailable').length, 1, 'the outage is logged once');
  assert.equal(first.logEvents('token_store_fallback').length, 2, 'each renewal without the store is recorded');
  const outage = (await get(first, '/_proxy/metrics')).body;
  assert.match(outage, /^suitecrm_proxy_token_store_fallback\{credential="default"\} 1$/m);
  assert.match(outage, /^suitecrm_proxy_token_store_fallbacks_total\{credential="default"\} 2$/m);

  await redis.start();
  for (let i = 0; i < 100 && first.logEvents('token_store_recovered').length === 0; i++) await sleep(100);
  assert.equal(first.logEvents('token_store_recovered').length, 1, 'reconnected on its own');
  fake.revokeAll();
  assert.equal((await get(first)).status, 200);
  assert.equal(fake.grantsIssued(), 3, 'this renewal went through the store');
  assert.match((await get(first, '/_proxy/metrics')).body, /^suitecrm_proxy_token_store_fallback\{credential="default"\} 0$/m);

  const second = await startProxy(fake.url, env);
  t.after(() => second.close());
  assert.equal((await get(second)).status, 200);
  assert.equal(fake.grantsIssued(), 3, 'a new replica adopts the shared token instead of minting one');
  assert.equal(second.logEvents('token_adopted').length, 1);
  assert.match((await get(second, '/_proxy/metrics')).body, /^suitecrm_proxy_token_adopted_total\{credential="default"\} 1$/m);

  for (const line of [...first.logs, ...second.logs]) {
    assert.ok(!line.includes(key) && !line.includes('redis-pass-Rr3') && !line.includes('cc-secret-S3cr3t!'), `secret in a log line: ${line.slice(0, 200)}`);
  }
});
