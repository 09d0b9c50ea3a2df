/**
 * Issue 22, point 3, over raw sockets: bytes the listener cannot parse, sent on a connection
 * behind a request that arrived whole, never replace that request's answer. The caller gets
 * SuiteCRM's answer first, then the connection closes (a 400 for the stray bytes may follow it,
 * never precede it), and the request has its line. Bytes pipelined behind an Upgrade request are
 * not left waiting for the keep-alive timeout: the connection closes after the answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { rawConversation, type RawConversation } from './raw-http.js';

const KEY = 'pipeline-key-3c8e1a9f7d5b';
const ACCOUNT = '{"data":{"type":"Accounts","attributes":{"name":"Pipelined Ltd"}}}';
const STRAY = 'X\r\n\r\n';

const post = (body: string): string =>
  `POST /Api/V8/module HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${KEY}\r\nContent-Type: application/vnd.api+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${KEY}\r\n${extra}\r\n`;
const brokenChunked = `POST /Api/V8/module HTTP/1.1\r\nHost: proxy.local\r\nX-Proxy-Key: ${KEY}\r\nContent-Type: application/vnd.api+json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n`;

describe('a parse error behind a request in flight', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;
  let port: number;
  const requestLines = (): Array<Record<string, unknown>> => proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');

  before(async () => {
    crm = await startFakeSuiteCrm();
    proxy = await startProxy(crm.url, { LOG_LEVEL: 'info', PROXY_CLIENTS: JSON.stringify([{ name: 'etl', key: KEY }]) });
    port = Number(new URL(proxy.url).port);
    // SuiteCRM takes a moment, so the bad bytes are parsed while the request is still in flight.
    crm.faults.apiDelayMs = 100;
  });
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  /** The first answer is SuiteCRM's; anything after it is the proxy's 400; the connection closed. */
  function assertAnsweredFirst(conversation: RawConversation, status: number): void {
    assert.equal(conversation.closed, true, 'the connection closes');
    const [first, ...rest] = conversation.responses;
    assert.equal(first?.status, status, `first answer: ${JSON.stringify(conversation.responses.map((r) => r.status))}`);
    assert.equal(first?.headers['x-suitecrm-proxy-error'], undefined, 'SuiteCRM\'s own answer');
    for (const later of rest) assert.equal(later.status, 400);
  }

  test('a created Account followed by stray bytes: 201 first, the record exists once, the request has its line', async () => {
    const before = crm.requests.length;
    const conversation = await rawConversation(port, post(ACCOUNT) + STRAY);
    assertAnsweredFirst(conversation, 201);
    const created = JSON.parse(conversation.responses[0]!.body) as { data: { attributes: { name: string } } };
    assert.equal(created.data.attributes.name, 'Pipelined Ltd');
    assert.deepEqual(crm.requests.slice(before).map((r) => `${r.method} ${r.status}`), ['POST 201']);
    const line = requestLines().find((l) => l.method === 'POST' && l.status === 201);
    assert.equal(line?.caller, 'etl');
    assert.ok(proxy.logEvents('client_error').some((e) => e.code === 'HPE_INVALID_METHOD'));
  });

  test('a keyed GET followed by stray bytes: 200 first', async () => {
    const conversation = await rawConversation(port, get('/Api/V8/module/Accounts?page[size]=1') + STRAY);
    assertAnsweredFirst(conversation, 200);
  });

  test('a valid GET followed by a request with a broken chunked body: 200 first; the broken one is logged as 400', async () => {
    const before = crm.requests.length;
    const conversation = await rawConversation(port, get('/Api/V8/current-user') + brokenChunked);
    assertAnsweredFirst(conversation, 200);
    assert.deepEqual(crm.requests.slice(before).map((r) => `${r.method} ${r.path}`), ['GET /Api/V8/current-user'], 'the broken request never reached SuiteCRM');
    const broken = requestLines().filter((l) => l.method === 'POST' && l.status !== 201);
    assert.deepEqual(broken.map((l) => l.status), [400]);
  });

  test('bytes behind an Upgrade request: answered, then the connection closes at once (not at the keep-alive timeout)', async () => {
    const upgrade = get('/Api/V8/current-user', 'Upgrade: websocket\r\nConnection: Upgrade\r\n');
    for (const behind of [get('/Api/V8/module/Accounts'), STRAY]) {
      const conversation = await rawConversation(port, upgrade + behind);
      assert.equal(conversation.closed, true, 'closed well before the 72 s keep-alive timeout');
      assert.equal(conversation.responses[0]?.status, 200);
      assert.equal(conversation.responses[0]?.headers.connection, 'close');
    }
  });

  test('nothing was logged at error level', () => {
    const errors = proxy.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
    assert.deepEqual(errors.map((l) => l.msg), []);
  });
});
