/**
 * The request function reply-from calls (src/proxy/upstream-request.ts), against a real socket
 * server on 127.0.0.1 that writes exactly the bytes each test scripts, through a real undici Pool:
 * a small answer comes back complete, a large one streams and can be abandoned, and a connection
 * that breaks in the middle of an answer is an error either way.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { Pool } from 'undici';
import { COLLECT_LIMIT_BYTES, CollectedBody, upstreamRequester, type UpstreamResponse } from '../../src/proxy/upstream-request.js';

/** A server that answers every request by calling `answer` with its socket; tracks when sockets close. */
async function rawServer(t: TestContext, answer: (socket: Socket) => void): Promise<{ url: string; closed: Promise<void> }> {
  let closedResolve: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => { closedResolve = resolve; });
  const server: Server = createServer((socket) => {
    socket.once('data', () => answer(socket));
    socket.on('error', () => undefined);
    socket.once('close', () => closedResolve());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, closed };
}

function head(length: number | undefined): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n${length === undefined ? 'connection: close\r\n' : `content-length: ${length}\r\n`}\r\n`;
}

function request(t: TestContext, url: string, method = 'GET'): Promise<UpstreamResponse> {
  const pool = new Pool(url);
  t.after(() => pool.destroy());
  return new Promise((resolve, reject) => {
    upstreamRequester(pool).request({ origin: url, path: '/Api/V8/x', method, headers: {} }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('a small answer of known length comes back complete, not as a stream', async (t) => {
  const body = Buffer.alloc(1024, 'a');
  const { url } = await rawServer(t, (socket) => socket.end(Buffer.concat([Buffer.from(head(body.length)), body])));
  const res = await request(t, url);
  assert.equal(res.statusCode, 200);
  assert.ok(res.body instanceof CollectedBody);
  assert.deepEqual(res.body.bytes, body);
});

test('an answer written in pieces is collected whole', async (t) => {
  const { url } = await rawServer(t, (socket) => {
    socket.write(head(6));
    socket.write('abc');
    setImmediate(() => socket.end('def'));
  });
  const res = await request(t, url);
  assert.ok(res.body instanceof CollectedBody);
  assert.equal(res.body.bytes.toString(), 'abcdef');
});

test('a large answer, or one without a length, or a HEAD streams from its headers on', async (t) => {
  const large = Buffer.alloc(COLLECT_LIMIT_BYTES + 1, 'b');
  const big = await rawServer(t, (socket) => socket.end(Buffer.concat([Buffer.from(head(large.length)), large])));
  const bigAnswer = await request(t, big.url);
  assert.ok(!(bigAnswer.body instanceof CollectedBody));
  assert.deepEqual(await readAll(bigAnswer.body), large);

  const unsized = await rawServer(t, (socket) => socket.end(`${head(undefined)}until the connection closes`));
  const unsizedAnswer = await request(t, unsized.url);
  assert.ok(!(unsizedAnswer.body instanceof CollectedBody));
  assert.equal((await readAll(unsizedAnswer.body)).toString(), 'until the connection closes');

  const headOnly = await rawServer(t, (socket) => socket.end(head(10)));
  const headAnswer = await request(t, headOnly.url, 'HEAD');
  assert.ok(!(headAnswer.body instanceof CollectedBody));
  assert.equal((await readAll(headAnswer.body)).length, 0);
});

test('destroying a streamed answer (the caller went away) aborts the upstream request', { timeout: 15_000 }, async (t) => {
  const { url, closed } = await rawServer(t, (socket) => {
    // Half of a large answer, then nothing: only an abort ends this exchange.
    socket.write(head(10 * COLLECT_LIMIT_BYTES));
    socket.write(Buffer.alloc(COLLECT_LIMIT_BYTES));
  });
  const res = await request(t, url);
  const stream = res.body as Readable;
  await once(stream, 'readable');
  stream.destroy();
  await closed;
});

test('a connection that breaks in the middle of a small answer is an error, not a short answer', async (t) => {
  const { url } = await rawServer(t, (socket) => {
    socket.write(`${head(100)}only part`);
    setImmediate(() => socket.destroy());
  });
  await assert.rejects(request(t, url), (err: Error & { code?: string }) => err.code === 'UND_ERR_SOCKET');
});

test('a connection that breaks in the middle of a streamed answer errors the stream', async (t) => {
  const { url } = await rawServer(t, (socket) => {
    socket.write(head(10 * COLLECT_LIMIT_BYTES));
    socket.write(Buffer.alloc(1000));
    setImmediate(() => socket.destroy());
  });
  const res = await request(t, url);
  await assert.rejects(readAll(res.body as Readable), (err: Error & { code?: string }) => err.code === 'UND_ERR_SOCKET');
});
