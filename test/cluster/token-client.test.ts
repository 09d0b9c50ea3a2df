/**
 * The PROXY_WORKERS worker side of the token over an in-memory channel: one question per miss
 * however many requests wait, pushed renewals replace the local copy, one report per rejected
 * token, the 401 loop guard, and a clear error when the primary does not answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANNEL, type PrimaryMessage, type WorkerMessage } from '../../src/cluster/messages.js';
import { ClusterTokenClient } from '../../src/cluster/token-client.js';
import { ProxyError } from '../../src/errors.js';
import { cachedToken as token } from '../support/cached-token.js';

function setup(timeoutMs = 1000) {
  let clock = 1_000_000;
  const sent: WorkerMessage[] = [];
  let deliver: (message: unknown) => void = () => undefined;
  const client = new ClusterTokenClient({
    send: (message) => { sent.push(message); },
    onMessage: (listener) => { deliver = listener; },
  }, timeoutMs, () => clock);
  const push = (message: PrimaryMessage): void => deliver(message);
  return { client, sent, push, now: () => clock, advance: (ms: number) => { clock += ms; } };
}

test('a miss asks the primary once however many requests wait, and the answer serves them all', async () => {
  const { client, sent, push, now } = setup();
  assert.equal(client.current(), undefined);
  const waiting = Array.from({ length: 50 }, () => client.get());
  assert.equal(sent.length, 1);
  const ask = sent[0];
  assert.equal(ask?.type, 'get');
  const t = token('t1', now());
  push({ channel: CHANNEL, type: 'token', id: ask.type === 'get' ? ask.id : -1, token: t });
  for (const got of await Promise.all(waiting)) assert.equal(got.accessToken, 't1');
  assert.equal(client.current()?.accessToken, 't1');
  assert.equal(client.status().hasToken, true);
});

test('pushed renewals replace the copy; the refresh time is announced once per token; expiry drops it', () => {
  const { client, sent, push, now, advance } = setup();
  push({ channel: CHANNEL, type: 'token', id: 0, token: token('t1', now()) });
  assert.equal(client.current()?.accessToken, 't1');
  advance(41_000);
  client.current();
  client.current();
  assert.deepEqual(sent.map((m) => m.type), ['refresh-due']);
  push({ channel: CHANNEL, type: 'token', id: 0, token: token('t2', now()) });
  assert.equal(client.current()?.accessToken, 't2');
  advance(60_000);
  assert.equal(client.current(), undefined);
});

test('only the first 401 for the current copy is reported; the 401 loop guard passes 401s back', () => {
  const { client, sent, push, now, advance } = setup();
  const t1 = token('t1', now());
  push({ channel: CHANNEL, type: 'token', id: 0, token: t1 });
  assert.equal(client.rejected(t1), true);
  assert.equal(client.rejected(t1), true);
  assert.deepEqual(sent.map((m) => m.type), ['rejected']);
  client.replayRejected(t1);
  push({ channel: CHANNEL, type: 'reauth-blocked', until: now() + 5000 });
  assert.equal(client.rejected(t1), false);
  const t2 = token('t2', now());
  client.accepted(t2);
  client.accepted(t2);
  assert.deepEqual(sent.map((m) => m.type), ['rejected', 'replay-rejected', 'accepted']);
  advance(1);
  assert.equal(client.rejected(t1), true);
});

test('the primary hears once per token that it worked, and again when a guard pause was up', () => {
  const { client, sent, push, now } = setup();
  const t1 = token('t1', now());
  for (let i = 0; i < 100; i++) client.accepted(t1);
  const t2 = token('t2', now());
  for (let i = 0; i < 100; i++) client.accepted(t2);
  push({ channel: CHANNEL, type: 'reauth-blocked', until: now() + 5000 });
  client.accepted(t2);
  client.accepted(t2);
  assert.deepEqual(sent.map((m) => (m.type === 'accepted' ? m.token.accessToken : m.type)), ['t1', 't2', 't2']);
});

test('an error from the primary rejects with its code and Retry-After; silence times out', async () => {
  const { client, sent, push } = setup(50);
  const first = client.get();
  const ask = sent[0];
  push({
    channel: CHANNEL, type: 'error', id: ask?.type === 'get' ? ask.id : -1, code: 'CREDENTIALS_REJECTED', detail: 'check SUITECRM_CLIENT_SECRET',
    retryAfterSeconds: 60, failure: { failureClass: 'rejected', reason: 'invalid_client', detail: 'check SUITECRM_CLIENT_SECRET', at: 0 },
  });
  await assert.rejects(first, (err: unknown) => err instanceof ProxyError && err.code === 'CREDENTIALS_REJECTED' && err.retryAfterSeconds === 60);
  assert.equal(client.status().lastFailure?.reason, 'invalid_client');
  await assert.rejects(client.get(), (err: unknown) => err instanceof ProxyError && err.code === 'TOKEN_UNAVAILABLE');
});
