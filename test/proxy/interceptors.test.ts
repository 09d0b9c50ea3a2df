/**
 * The SuiteCRM steps as undici interceptors, each alone on a pool to a real local HTTP server,
 * with a scripted TokenSource: token injection, the 401 replay, the stale-socket retry.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { Client, Pool } from 'undici';
import { ProxyError } from '../../src/errors.js';
import type { CachedToken, RenewReason, Token, TokenSource, TokenStatus } from '../../src/suitecrm-token/token.js';
import { attachExchange, newExchange } from '../../src/proxy/exchange.js';
import { injectToken } from '../../src/proxy/inject-token.js';
import { replayOn401 } from '../../src/proxy/replay-on-401.js';
import { retryStaleSocket } from '../../src/proxy/stale-socket-retry.js';

interface Seen { method: string; authorization: string | undefined; bodySha256: string }

async function startServer(t: TestContext, answer: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record = { method: req.method ?? '', authorization: req.headers.authorization, bodySha256: createHash('sha256').update(Buffer.concat(chunks)).digest('hex') };
      seen.push(record);
      answer(req, res, record);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function token(n: number): CachedToken {
  return { accessToken: `t${n}`, authorization: `Bearer t${n}`, lifetimeMs: 3_600_000, receivedAt: 0, expiresInReported: true, grant: 'client_credentials', refreshToken: undefined, usableUntil: Infinity, refreshAt: Infinity };
}

/** A TokenSource that hands out t1, then t2 after a rejection; records what was asked. */
function scriptedTokens(initial: CachedToken | undefined, fail?: ProxyError) {
  let cached = initial;
  let issued = initial ? 1 : 0;
  const calls = { get: [] as RenewReason[], rejected: 0, replayRejected: 0, accepted: 0 };
  const source: TokenSource = {
    current: () => cached,
    get: async (reason = 'cold') => {
      calls.get.push(reason);
      if (fail) throw fail;
      cached = token(++issued);
      return cached;
    },
    rejected: (t: Token) => {
      calls.rejected += 1;
      if (cached?.accessToken === t.accessToken) cached = undefined;
      return true;
    },
    replayRejected: () => { calls.replayRejected += 1; },
    accepted: () => { calls.accepted += 1; },
    status: () => ({}) as TokenStatus,
  };
  return { source, calls };
}

function proxied(source: TokenSource, headers: Record<string, string> = {}) {
  const exchange = newExchange('default', source);
  return { exchange, headers: attachExchange({ ...headers }, exchange) };
}

test('inject: the cached token goes on the request synchronously; the exchange records it', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('ok'));
  const { source, calls } = scriptedTokens(token(1));
  const pool = new Pool(server.url);
  t.after(() => pool.close());
  const { exchange, headers } = proxied(source, { authorization: 'Bearer caller' });
  const res = await pool.compose(injectToken()).request({ method: 'GET', path: '/', headers });
  await res.body.text();
  assert.equal(server.seen[0]?.authorization, 'Bearer t1');
  assert.equal(exchange.token?.accessToken, 't1');
  assert.equal(exchange.tokenWaited, false);
  assert.deepEqual(calls.get, [], 'no wait with a cached token');
});

test('inject: with no token the request waits for one; a failure reaches the caller as the ProxyError', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('ok'));
  const pool = new Pool(server.url);
  t.after(() => pool.close());
  const cold = scriptedTokens(undefined);
  const { exchange, headers } = proxied(cold.source);
  await (await pool.compose(injectToken()).request({ method: 'GET', path: '/', headers })).body.text();
  assert.equal(server.seen[0]?.authorization, 'Bearer t1');
  assert.equal(exchange.tokenWaited, true);
  assert.deepEqual(cold.calls.get, ['cold']);

  const down = scriptedTokens(undefined, new ProxyError('TOKEN_UNAVAILABLE', 'token endpoint down'));
  await assert.rejects(pool.compose(injectToken()).request({ method: 'GET', path: '/', headers: proxied(down.source).headers }),
    (err: unknown) => err instanceof ProxyError && err.code === 'TOKEN_UNAVAILABLE');
  assert.equal(server.seen.length, 1, 'nothing sent without a token');
});

test('replay: a 401 for the current token is replayed once with the next token, same bytes, the 401 never seen', async (t) => {
  const server = await startServer(t, (req, res) => {
    if (req.headers.authorization === 'Bearer t1') { res.statusCode = 401; res.end('{"error":"revoked"}'); return; }
    res.end('applied');
  });
  const pool = new Pool(server.url);
  t.after(() => pool.close());
  const { source, calls } = scriptedTokens(token(1));
  const { exchange, headers } = proxied(source, { 'content-type': 'application/json' });
  const body = Buffer.from('{"a": 1}');
  const res = await pool.compose(injectToken(), replayOn401()).request({ method: 'POST', path: '/', headers, body });
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'applied');
  assert.deepEqual(server.seen.map((s) => s.authorization), ['Bearer t1', 'Bearer t2']);
  assert.equal(server.seen[0]?.bodySha256, server.seen[1]?.bodySha256);
  assert.equal(exchange.replayed, true);
  assert.ok(exchange.upstreamMs >= 0);
  assert.deepEqual(calls.get, ['rejected_401'], 'the replay asked for a token as a 401 renewal');
  assert.equal(calls.accepted, 1);
});

test('replay: a second 401 goes back to the caller and arms the loop guard', async (t) => {
  const server = await startServer(t, (_req, res) => { res.statusCode = 401; res.end('no'); });
  const pool = new Pool(server.url);
  t.after(() => pool.close());
  const { source, calls } = scriptedTokens(token(1));
  const res = await pool.compose(injectToken(), replayOn401()).request({ method: 'GET', path: '/', headers: proxied(source).headers });
  assert.equal(res.statusCode, 401);
  assert.equal(await res.body.text(), 'no');
  assert.equal(server.seen.length, 2);
  assert.equal(calls.replayRejected, 1);
});

test('replay: a streamed body is never replayed, but its rejected token is still dropped', async (t) => {
  const server = await startServer(t, (_req, res) => { res.statusCode = 401; res.end('no'); });
  const pool = new Pool(server.url);
  t.after(() => pool.close());
  const { source, calls } = scriptedTokens(token(1));
  const res = await pool.compose(injectToken(), replayOn401()).request({
    method: 'POST', path: '/', headers: proxied(source).headers, body: Readable.from([Buffer.from('big')]),
  });
  assert.equal(res.statusCode, 401);
  await res.body.text();
  assert.equal(server.seen.length, 1);
  assert.equal(calls.rejected, 1);
  assert.equal(source.current(), undefined);
});

test('stale socket: an idempotent request is retried once on a fresh connection; a POST never is', async (t) => {
  let resets = 0;
  const server = await startServer(t, (req, res) => {
    if (req.headers['x-reset'] === 'always' || (req.headers['x-reset'] === 'once' && resets++ === 0)) { req.socket.destroy(); return; }
    res.end('ok');
  });
  const pool = new Pool(server.url);
  t.after(() => pool.close());
  let fresh = 0;
  const dispatcher = pool.compose(retryStaleSocket(() => { fresh += 1; return new Client(server.url); }));
  const res = await dispatcher.request({ method: 'GET', path: '/', headers: { 'x-reset': 'once' } });
  assert.equal(await res.body.text(), 'ok');
  assert.equal(fresh, 1, 'the retry used a new connection');
  assert.equal(server.seen.length, 2);

  await assert.rejects(dispatcher.request({ method: 'POST', path: '/', headers: { 'x-reset': 'always' }, body: 'x' }),
    (err: { code?: string }) => err.code === 'UND_ERR_SOCKET' || err.code === 'ECONNRESET');
  assert.equal(fresh, 1, 'a POST is not re-sent');
  await assert.rejects(dispatcher.request({ method: 'GET', path: '/', headers: { 'x-reset': 'always' } }));
  assert.equal(fresh, 2, 'at most one retry per request');
});
