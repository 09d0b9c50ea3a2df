import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js';

test('the caller Authorization, hop-by-hop headers and method overrides never reach SuiteCRM', () => {
  const h = upstreamRequestHeaders({
    authorization: 'Bearer caller-secret', 'x-proxy-key': 'k', host: 'evil.example', connection: 'keep-alive, x-drop-me',
    'x-drop-me': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'transfer-encoding': 'chunked', upgrade: 'h2c',
    'proxy-authorization': 'Basic x', 'x-http-method-override': 'DELETE', expect: '100-continue',
    accept: 'application/vnd.api+json', 'content-type': 'application/vnd.api+json', 'content-length': '99',
  }, 'crm.example.com', 12);
  // Our Bearer token is added later, by the token injection (test/proxy/interceptors.test.ts).
  assert.deepEqual(h, {
    accept: 'application/vnd.api+json', 'content-type': 'application/vnd.api+json',
    host: 'crm.example.com', 'content-length': '12',
  });
});

test('a streamed body keeps the caller Content-Length unless chunked', () => {
  assert.equal(upstreamRequestHeaders({ 'content-length': '5000000' }, 'h', undefined)['content-length'], '5000000');
  assert.equal(upstreamRequestHeaders({ 'transfer-encoding': 'chunked' }, 'h', undefined)['content-length'], undefined);
});

test('response headers pass through except hop-by-hop ones', () => {
  assert.deepEqual(downstreamResponseHeaders({
    'content-type': 'application/vnd.api+json', accept: 'application/vnd.api+json', 'transfer-encoding': 'chunked',
    connection: 'close, x-hop', 'x-hop': '1', 'access-control-allow-origin': '*', 'cache-control': 'no-store',
  }), { 'content-type': 'application/vnd.api+json', accept: 'application/vnd.api+json', 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
});
