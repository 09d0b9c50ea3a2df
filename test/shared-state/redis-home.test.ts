/**
 * RedisHome against a real redis-server: the events features build on (ready on every connection,
 * down/up once per outage, resubscribed only after the subscriber came back), the channels
 * subscribed again after a restart, and a paused Redis (socket up, no answers) found usable again
 * by the PING probe, since ioredis reports no new 'ready' then.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { RedisHome } from '../../src/shared-state/redis-home.js';
import { adminClient, needRedis, startRedis } from '../support/redis-server.js';
import { until } from '../support/wait.js';

test('killed and restarted: down and up once, ready twice, resubscribed once, channels heard again', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const home = new RedisHome({ url: redis.url, commandTimeoutMs: 500, logger: pino({ level: 'silent' }) });
  t.after(() => home.close());
  const events: string[] = [];
  for (const name of ['ready', 'down', 'up', 'resubscribed'] as const) home.on(name, () => events.push(name));
  const heard: string[] = [];
  home.subscribe('test:channel', (message) => heard.push(message));
  assert.equal(await home.ready(), true);
  const admin = adminClient(t, redis.url);
  await until('the subscription', async () => (await admin.publish('test:channel', 'one')) === 1);
  await until('the first message', () => heard.includes('one'));

  await redis.kill();
  await until('the outage noticed', () => !home.usable());
  await redis.start();
  await until('usable again', () => home.usable(), 15_000);
  const again = adminClient(t, redis.url);
  await until('subscribed again', async () => (await again.publish('test:channel', 'two')) === 1, 15_000);
  await until('the second message', () => heard.includes('two'));
  const count = (name: string): number => events.filter((e) => e === name).length;
  assert.deepEqual({ ready: count('ready'), down: count('down'), up: count('up') }, { ready: 2, down: 1, up: 1 });
  assert.equal(count('resubscribed'), 1, 'after the restart, not on the first subscription');
});

test('paused: a timed-out command marks it down; the probe finds it answering again', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const home = new RedisHome({ url: redis.url, commandTimeoutMs: 200, logger: pino({ level: 'silent' }) });
  t.after(() => home.close());
  assert.equal(await home.ready(), true);
  process.kill(redis.pid!, 'SIGSTOP');
  try {
    await assert.rejects(home.client.ping().catch((err: unknown) => { home.commandFailed(err); throw err; }));
    assert.equal(home.usable(), false);
    assert.equal(home.status().reason, 'timeout');
  } finally {
    process.kill(redis.pid!, 'SIGCONT');
  }
  await until('the probe marks it usable', () => home.usable(), 10_000);
});
