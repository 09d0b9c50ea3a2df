/**
 * The PROXY_WORKERS plumbing for shared state over in-memory channels: questions are answered by
 * the primary's service, answers reach only the worker that asked, errors and a silent primary
 * come back as errors, and pushes reach every worker but the one that caused them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrimaryLink, PrimaryServices } from '../../src/shared-state/primary-link.js';
import { pair } from '../support/primary-channel.js';

test('a worker question is answered by the primary service, sync or async', async () => {
  const services = new PrimaryServices();
  let counted = 0;
  services.serve('counters', {
    add: (by: number) => (counted += by),
    later: async (value: string) => `seen ${value}`,
  });
  const a = pair(services);
  const b = pair(services);
  assert.equal(await a.link.call<number>('counters', 'add', 2), 2);
  assert.equal(await b.link.call<number>('counters', 'add', 3), 5, 'both workers reach the one copy in the primary');
  assert.equal(await a.link.call<string>('counters', 'later', 'x'), 'seen x');
  assert.deepEqual(a.sent.map((m) => m.op), ['add', 'later']);
});

test('an unknown operation or a throwing service is an error for the caller, not a hang', async () => {
  const services = new PrimaryServices();
  services.serve('sessions', { fail: () => { throw new Error('no such session'); } });
  const { link } = pair(services);
  await assert.rejects(link.call('sessions', 'fail'), /no such session/);
  await assert.rejects(link.call('sessions', 'missing'), /no sessions\.missing in the primary/);
  await assert.rejects(link.call('nothing', 'here'), /no nothing\.here in the primary/);
});

test('a primary that never answers: the call fails after the answer timeout', async () => {
  const link = new PrimaryLink({ send: () => undefined, onMessage: () => undefined }, 20);
  await assert.rejects(link.call('sessions', 'find', 'x'), (err: Error & { code?: string }) => err.code === 'INTERNAL_ERROR' && /did not answer about sessions/.test(err.message));
});

test('pushes reach every worker except the one that caused them, and only the listeners of their service', () => {
  const services = new PrimaryServices();
  const a = pair(services);
  const b = pair(services);
  const c = pair(services);
  const heard: string[] = [];
  a.link.onPush('sessions', (v) => heard.push(`a:${String(v)}`));
  b.link.onPush('sessions', (v) => heard.push(`b:${String(v)}`));
  c.link.onPush('counters', (v) => heard.push(`c:${String(v)}`));
  services.push('sessions', 'logout', a.end);
  assert.deepEqual(heard, ['b:logout']);
  services.detach(b.end);
  services.push('sessions', 'again');
  assert.deepEqual(heard, ['b:logout', 'a:again']);
});

test('messages of other channels are ignored on both sides', async () => {
  const services = new PrimaryServices();
  services.serve('s', { ok: () => 1 });
  const { link, end } = pair(services);
  end.send({ channel: 'suitecrm-proxy-token', kind: 'answer', id: 1, ok: true, value: 99 } as never);
  assert.equal(await link.call('s', 'ok'), 1);
});
