/**
 * Graceful shutdown of the real process (`node dist/src/main.js`) in front of the SuiteCRM
 * double: requests in flight when SIGTERM arrives (a slow answer, a slow upload, a 401 replay
 * waiting for its new token) finish with SuiteCRM's answer; readiness answers 503 on a
 * connection that was already open; new connections are refused; the process exits 0.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Client } from 'undici';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { CC_ENV } from '../support/proxy-harness.js';
import { startProxyProcess, type ProxyProcess } from '../support/proxy-process.js';
import { settledCheck, until } from '../support/wait.js';

async function setup(t: TestContext, extra: Record<string, string> = {}): Promise<{ fake: FakeSuiteCrm; proxy: ProxyProcess }> {
  const fake = await startFakeSuiteCrm();
  t.after(() => fake.close());
  const proxy = await startProxyProcess({
    SUITECRM_URL: fake.url, ...CC_ENV, ...extra,
  });
  t.after(() => {
    if (proxy.child.exitCode === null && proxy.child.signalCode === null) proxy.child.kill('SIGKILL');
  });
  // Warm up: the token is cached, so later requests go straight to SuiteCRM.
  const warm = await fetch(`${proxy.url}/Api/V8/module/Accounts`);
  assert.equal(warm.status, 200);
  await warm.arrayBuffer();
  return { fake, proxy };
}

/** A GET on its own connection, opened now. */
function get(proxy: ProxyProcess, path: string): Promise<{ status: number; body: string }> {
  const dispatcher = new Client(proxy.url);
  return dispatcher.request({ method: 'GET', path })
    .then(async (r) => ({ status: r.statusCode, body: await r.body.text() }))
    .finally(() => dispatcher.close());
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** An HTTP request whose head is sent only up to the last header, so its connection counts as busy. */
function halfSentRequest(port: number, path: string) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
  return {
    ready: new Promise<void>((resolve) => socket.once('connect', () => resolve())),
    async finish(): Promise<{ status: number; head: string; body: string }> {
      socket.write('\r\n');
      await closed;
      const [head = '', body = ''] = received.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), head: head.toLowerCase(), body };
    },
  };
}

/** A POST whose body is sent in two halves: the second only when `finish()` is called. */
function slowUpload(proxy: ProxyProcess, path: string, body: Buffer) {
  const half = Math.floor(body.length / 2);
  const req = httpRequest(`${proxy.url}${path}`, {
    method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject));
  req.write(body.subarray(0, half));
  return {
    async finish(): Promise<number> {
      req.end(body.subarray(half));
      const res = await response;
      res.resume();
      await new Promise((resolve) => res.once('end', resolve));
      return res.statusCode ?? 0;
    },
  };
}

test('SIGTERM: in-flight requests finish, readiness turns 503, new connections are refused, exit 0', async (t) => {
  const { fake, proxy } = await setup(t);
  const probe = halfSentRequest(proxy.port, '/_proxy/readyz');
  await probe.ready;
  const upload = slowUpload(proxy, '/Api/V8/custom/echo', Buffer.alloc(200_000, 'u'));
  fake.faults.apiDelayMs = 3000;
  const slow = get(proxy, '/Api/V8/module/Contacts');
  const slowSettled = settledCheck(slow);
  await until('the slow request to reach SuiteCRM', () => fake.requests.some((r) => r.path === '/Api/V8/module/Contacts' && r.status === 0));

  proxy.child.kill('SIGTERM');
  const started = await proxy.waitForEvent('shutdown_started');
  assert.equal(started.signal, 'SIGTERM');
  assert.equal(slowSettled(), false, 'the slow request was still in flight when the drain began');
  await until('new connections to be refused', () => connectionRefused(proxy.port));

  const readiness = await probe.finish();
  assert.equal(readiness.status, 503, 'readiness on an already open connection');
  assert.match(readiness.head, /x-suitecrm-proxy-error: shutting_down/);
  assert.match(readiness.head, /connection: close/);
  assert.match(readiness.body, /"code":"SHUTTING_DOWN"/);

  assert.equal(await upload.finish(), 200, 'the upload begun before SIGTERM is forwarded');
  const echoed = fake.requests.find((r) => r.path === '/Api/V8/custom/echo');
  assert.equal(echoed?.bodyLength, 200_000);
  assert.equal(echoed?.bodySha256, createHash('sha256').update(Buffer.alloc(200_000, 'u')).digest('hex'));

  const answer = await slow;
  assert.equal(answer.status, 200, 'the request in flight gets SuiteCRM\'s answer');
  assert.ok(answer.body.length > 0);
  assert.equal(await proxy.exited, 0);
  assert.ok(proxy.logs().some((l) => l.event === 'shutdown_complete'));
});

test('SIGTERM during a 401 replay: the replay gets its new token and finishes', async (t) => {
  const { fake, proxy } = await setup(t);
  fake.revokeAll();
  fake.faults.tokenDelayMs = 3000;
  const pending = get(proxy, '/Api/V8/module/Accounts');
  const settled = settledCheck(pending);
  await until('SuiteCRM to answer 401', () => fake.requests.some((r) => r.status === 401));
  proxy.child.kill('SIGTERM');
  await proxy.waitForEvent('shutdown_started');
  assert.equal(settled(), false, 'the replay was waiting for its token when the drain began');
  const answer = await pending;
  assert.equal(answer.status, 200);
  const [rejected, replayed] = fake.requests.slice(-2);
  assert.equal(rejected?.status, 401);
  assert.equal(replayed?.status, 200);
  assert.notEqual(replayed?.tokenJti, rejected?.tokenJti, 'replayed with a new token');
  assert.equal(await proxy.exited, 0);
});

test('SHUTDOWN_TIMEOUT_SECONDS bounds the drain: a hanging request is cut and the process exits 0', async (t) => {
  const { fake, proxy } = await setup(t, { SHUTDOWN_TIMEOUT_SECONDS: '1' });
  fake.faults.api = 'hang';
  const hanging = get(proxy, '/Api/V8/module/Accounts').then(() => 'answered', (err: NodeJS.ErrnoException) => err.code);
  await until('the request to reach SuiteCRM', () => fake.requests.filter((r) => r.status === 0).length === 1);
  const signalled = Date.now();
  proxy.child.kill('SIGTERM');
  assert.equal(await proxy.exited, 0);
  assert.ok(Date.now() - signalled >= 900, 'it waited for the timeout');
  const timeout = proxy.logs().find((l) => l.event === 'shutdown_timeout');
  assert.equal(timeout?.inFlight, 1);
  assert.equal(await hanging, 'UND_ERR_SOCKET', 'the cut request sees its connection closed');
});

test('a second signal exits at once with 128 + signal number', async (t) => {
  const { fake, proxy } = await setup(t);
  fake.faults.api = 'hang';
  const hanging = get(proxy, '/Api/V8/module/Accounts').catch(() => undefined);
  await until('the request to reach SuiteCRM', () => fake.requests.filter((r) => r.status === 0).length === 1);
  proxy.child.kill('SIGINT');
  await proxy.waitForEvent('shutdown_started');
  proxy.child.kill('SIGINT');
  assert.equal(await proxy.exited, 130);
  assert.ok(proxy.logs().some((l) => l.event === 'shutdown_forced'));
  await hanging;
});
