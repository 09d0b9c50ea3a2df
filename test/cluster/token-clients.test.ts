/**
 * A PROXY_WORKERS worker's tokens of several SuiteCRM credentials (issue 13) over one in-memory
 * IPC channel: what each credential's client sends names that credential, and what the primary
 * sends reaches only the client of the credential it names, even when two clients wait on the
 * same answer id. Unknown credentials are ignored; a credential removed by a reload loses its copy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANNEL, type PrimaryMessage, type Tagged, type WorkerMessage } from '../../src/cluster/messages.js';
import { ClusterTokenClients } from '../../src/cluster/token-clients.js';
import { ProxyError } from '../../src/errors.js';
import { cachedToken } from '../support/cached-token.js';
import { settledCheck } from '../support/wait.js';

const NOW = 1_000_000;

function setup(names: readonly string[] = ['default', 'reporting']) {
  const sent: Array<Tagged<WorkerMessage>> = [];
  let deliver: (message: unknown) => void = () => undefined;
  const clients = new ClusterTokenClients({
    send: (message) => { sent.push(message); },
    onMessage: (listener) => { deliver = listener; },
  }, names, 1000, () => NOW);
  const push = (message: Tagged<PrimaryMessage> | unknown): void => deliver(message);
  const pushToken = (credential: string, name: string, id = 0): void => push({ channel: CHANNEL, type: 'token', id, token: cachedToken(name, NOW), credential });
  const source = (name: string) => {
    const client = clients.source(name);
    assert.ok(client, `credential ${name} has a client`);
    return client;
  };
  return { clients, sent, push, pushToken, source };
}

test('every message a credential\'s client sends names that credential', async () => {
  const { sent, pushToken, source } = setup();
  const def = source('default');
  const rep = source('reporting');
  assert.equal(source('default'), def, 'one client per credential');
  const waiting = [def.get(), rep.get()];
  pushToken('default', 'tok-default', 1);
  pushToken('reporting', 'tok-reporting', 1);
  await Promise.all(waiting);
  def.rejected(cachedToken('tok-default', NOW));
  rep.replayRejected(cachedToken('tok-reporting', NOW));
  assert.deepEqual(sent.map((m) => [m.type, m.credential]), [
    ['get', 'default'], ['get', 'reporting'], ['rejected', 'default'], ['replay-rejected', 'reporting'],
  ]);
  const rejected = sent.find((m) => m.type === 'rejected');
  assert.equal(rejected?.type === 'rejected' ? rejected.token.accessToken : undefined, 'tok-default');
});

test('a token for one credential reaches only its client, also when both wait on the same answer id', async () => {
  const { pushToken, source } = setup();
  const def = source('default');
  const rep = source('reporting');
  // Each client numbers its own questions: both ask with id 1.
  const defGot = def.get();
  const repGot = rep.get();
  const repSettled = settledCheck(repGot);
  pushToken('default', 'tok-default', 1);
  assert.equal((await defGot).accessToken, 'tok-default');
  assert.equal(repSettled(), false, 'the answer for default did not answer reporting');
  assert.equal(rep.current(), undefined);

  pushToken('reporting', 'tok-reporting');
  assert.equal(rep.current()?.accessToken, 'tok-reporting');
  assert.equal(def.current()?.accessToken, 'tok-default', 'a push for reporting leaves default\'s copy alone');
  pushToken('reporting', 'tok-reporting', 1);
  assert.equal((await repGot).accessToken, 'tok-reporting');
});

test('an error and the 401 loop guard for one credential touch only its client', async () => {
  const { push, pushToken, source, sent } = setup();
  const def = source('default');
  const rep = source('reporting');
  pushToken('default', 'tok-default');
  const failing = rep.get();
  const ask = sent.find((m) => m.credential === 'reporting' && m.type === 'get');
  push({
    channel: CHANNEL, type: 'error', id: ask?.type === 'get' ? ask.id : -1, credential: 'reporting', code: 'CREDENTIALS_REJECTED',
    detail: 'SuiteCRM credential "reporting": check clientSecret', retryAfterSeconds: 60,
    failure: { failureClass: 'rejected', reason: 'invalid_client', detail: 'check clientSecret', at: 0 },
  });
  await assert.rejects(failing, (err: unknown) => err instanceof ProxyError && err.code === 'CREDENTIALS_REJECTED');
  assert.equal(rep.status().lastFailure?.reason, 'invalid_client');
  assert.equal(def.status().lastFailure, undefined);
  assert.equal(def.current()?.accessToken, 'tok-default');

  pushToken('reporting', 'tok-reporting');
  push({ channel: CHANNEL, type: 'reauth-blocked', until: NOW + 5000, credential: 'reporting' });
  assert.equal(rep.rejected(cachedToken('tok-reporting', NOW)), false, 'reporting passes its 401s back');
  assert.equal(def.rejected(cachedToken('tok-default', NOW)), true, 'default still replays');
});

test('messages for an unknown credential, or naming none, are ignored', () => {
  const { clients, push, pushToken, source } = setup();
  const def = source('default');
  pushToken('ghost', 'tok-ghost');
  push({ channel: CHANNEL, type: 'token', id: 0, token: cachedToken('tok-untagged', NOW) });
  push({ channel: CHANNEL, type: 'token', id: 0, token: cachedToken('tok-number', NOW), credential: 7 });
  push({ channel: 'other', type: 'token', id: 0, token: cachedToken('tok-other', NOW), credential: 'default' });
  push('not an object');
  push(null);
  assert.equal(def.current(), undefined);
  assert.equal(clients.source('ghost'), undefined);
  // A push for a configured credential that no request has asked for yet finds no client.
  assert.equal(source('reporting').current(), undefined);
});

test('source() of a name that is not configured is undefined; names() are the configured ones', () => {
  const { clients } = setup();
  assert.deepEqual(clients.names(), ['default', 'reporting']);
  for (const name of ['invoicing', 'Default', '', 'default ']) assert.equal(clients.source(name), undefined, JSON.stringify(name));
});

test('follow() drops a removed credential\'s client and keeps the others\'', () => {
  const { clients, pushToken, source } = setup();
  const def = source('default');
  const rep = source('reporting');
  pushToken('default', 'tok-default');
  pushToken('reporting', 'tok-reporting');

  clients.follow(['default', 'invoicing']);
  assert.deepEqual(clients.names(), ['default', 'invoicing']);
  assert.equal(clients.source('reporting'), undefined);
  assert.equal(source('default'), def, 'a kept credential keeps its client');
  assert.equal(def.current()?.accessToken, 'tok-default', 'and its copy');
  pushToken('invoicing', 'tok-invoicing');
  assert.equal(source('invoicing').current(), undefined, 'an added credential starts without a copy');

  clients.follow(['default', 'invoicing', 'reporting']);
  const again = source('reporting');
  assert.notEqual(again, rep);
  assert.equal(again.current(), undefined, 'a credential added back does not get its old copy back');
  pushToken('reporting', 'tok-reporting-3');
  assert.equal(again.current()?.accessToken, 'tok-reporting-3');
});

test('a question in flight when follow() drops its credential still gets the primary\'s answer, not the answer timeout', async () => {
  const { clients, push, sent, source } = setup();
  const rep = source('reporting');
  // A request authenticated before the reload asks for a token (a cold start, or its replay after a 401).
  const asking = rep.get();
  const ask = sent.find((m) => m.type === 'get' && m.credential === 'reporting');
  clients.follow(['default']);
  const started = Date.now();
  push({
    channel: CHANNEL, type: 'error', id: ask?.type === 'get' ? ask.id : -1, credential: 'reporting', code: 'TOKEN_UNAVAILABLE',
    detail: 'the SuiteCRM credential "reporting" is not configured', retryAfterSeconds: undefined, failure: undefined,
  });
  await assert.rejects(asking, (err: unknown) => err instanceof ProxyError && err.detail.includes('is not configured'));
  assert.ok(Date.now() - started < 500, 'answered at once, not after the 1 s answer timeout');
});
