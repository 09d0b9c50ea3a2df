/**
 * Secrets audit (issue 4, point 7): run the suite's scenarios with distinctive secrets (client
 * secrets, password, refresh token, inbound keys, a wrong password SuiteCRM echoes back) and
 * scan everything the proxy puts out: every log line at trace level, every response status
 * line, header and body, configuration error messages, the real process's stdout and stderr, and
 * /_proxy/ endpoints (metrics included, whatever the branch serves there), and every key and value
 * a TOKEN_STORE=redis proxy leaves in Redis. Zero hits allowed, for
 * those secrets and for every token value SuiteCRM issued (captured by a recording tap).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig } from '../../src/cli/check-config.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { Redis } from 'ioredis';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { redisContents } from '../support/redis-contents.js';
import { adminClient, needRedis, startRedis } from '../support/redis-server.js';
import { startProxyProcess } from '../support/proxy-process.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';
import { rawRequest } from './raw-http.js';

const CC_SECRET = 'AUDIT-cc-secret-Qm8Zt2';
const PW_SECRET = 'AUDIT-pw-secret-Lr5Vn9';
const PASSWORD = 'AUDIT-password-Hx4Wk7';
const WRONG_PASSWORD = 'AUDIT-wrong-password-Jp3Ys6';
const KEY_ETL = 'AUDIT-key-etl-4b7d1f9a3c';
const KEY_REPORTING = 'AUDIT-key-reporting-8e2a6c0d';
const KEY_WRONG = 'AUDIT-key-wrong-5f9b3d7e1a';
const CLIENTS = JSON.stringify([
  { name: 'etl', key: KEY_ETL },
  { name: 'reporting', key: KEY_REPORTING, methods: ['GET'], paths: ['/Api/V8/module/Accounts*'], rateLimit: { perSecond: 0.01, burst: 3 } },
]);
/** Issue 15: callers of the local token endpoint. */
const TOOL_SECRET = 'AUDIT-tool-secret-Zc6Qe1';
const TOOL_PASSWORD = 'AUDIT-tool-password-Vb2Mn8';
const TOOL_WRONG_SECRET = 'AUDIT-tool-wrong-secret-Kd9Rf4';
const TOOL_WRONG_PASSWORD = 'AUDIT-tool-wrong-password-Tg5Wy3';
/** Issue 14: secrets rotated by a reload. */
const KEY_ROTATED = 'AUDIT-key-rotated-2c6e0a4b8d';
const CC_SECRET_ROTATED = 'AUDIT-cc-secret-rotated-Wd3Fh6';
/** Issue 13: named SuiteCRM credentials, one of them with a secret SuiteCRM does not know. */
const CRED_WRONG_SECRET = 'AUDIT-cred-wrong-secret-Np7Ks2';
const KEY_BROKEN = 'AUDIT-key-broken-9d3f7b1e5a';
/** Issue 19: the key of what the fleet keeps in Redis, as configured (hex) and as its bytes would read in base64. */
const STORE_KEY_BYTES = randomBytes(32);
const STORE_KEY = STORE_KEY_BYTES.toString('hex');
const FIXED_SECRETS = [STORE_KEY, STORE_KEY_BYTES.toString('base64'), STORE_KEY_BYTES.toString('base64url'), CC_SECRET, PW_SECRET, PASSWORD, WRONG_PASSWORD, KEY_ETL, KEY_REPORTING, KEY_WRONG, TOOL_SECRET, TOOL_PASSWORD, TOOL_WRONG_SECRET, TOOL_WRONG_PASSWORD, KEY_ROTATED, CC_SECRET_ROTATED, CRED_WRONG_SECRET, KEY_BROKEN];

/** Every output the tests capture, and every token value SuiteCRM issued. */
const output: string[] = [];
const issuedTokens = new Set<string>();
/** Local tokens the proxy's own token endpoint issued: they may appear in its 200 bodies only. */
const localTokens = new Set<string>();

/**
 * A pass-through HTTP server between the proxy and the double that records every token value in
 * token responses, so the audit knows what to look for without trusting the proxy to tell it.
 */
async function startTokenTap(target: string): Promise<{ url: string; server: Server }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url?.includes('access_token')) {
          try {
            const doc = JSON.parse(body.toString('utf8')) as { access_token?: string; refresh_token?: string };
            for (const token of [doc.access_token, doc.refresh_token]) if (token) issuedTokens.add(token);
          } catch {
            // Error bodies are not tokens.
          }
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(body);
      });
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function secretsToFind(): string[] {
  const tokens = [...issuedTokens].flatMap((t) => {
    // A JWT's signature alone is a leak too; so is a refresh token's tail.
    const parts = t.split('.');
    return parts.length === 3 ? [t, parts[2]!] : [t, t.slice(-40)];
  });
  return [...FIXED_SECRETS, ...tokens, ...localTokens];
}

async function call(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, init);
  const body = await res.text();
  output.push(`${res.status} ${JSON.stringify([...res.headers])} ${body}`);
  return new Response(body, { status: res.status, headers: res.headers });
}

/** A local token request: issued tokens are recorded, and cut out of the body that is audited. */
async function tokenCall(url: string, body: Record<string, string>): Promise<{ status: number; access: string; refresh: string }> {
  const res = await fetch(`${url}/Api/access_token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
  let text = await res.text();
  const doc = (res.status === 200 ? JSON.parse(text) : {}) as { access_token?: string; refresh_token?: string };
  for (const token of [doc.access_token, doc.refresh_token]) {
    if (token === undefined) continue;
    localTokens.add(token);
    text = text.replace(token, '<local token>');
  }
  output.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
  return { status: res.status, access: doc.access_token ?? '', refresh: doc.refresh_token ?? '' };
}

/** Whatever a Redis key holds, of any type, as text. */
async function redisValue(admin: Redis, key: string): Promise<unknown> {
  switch (await admin.type(key)) {
    case 'string': return admin.get(key);
    case 'hash': return admin.hgetall(key);
    case 'set': return admin.smembers(key);
    case 'zset': return admin.zrange(key, 0, -1, 'WITHSCORES');
    case 'list': return admin.lrange(key, 0, -1);
    default: return admin.dumpBuffer(key).then((b) => b?.toString('latin1'));
  }
}

async function raw(port: number, text: string): Promise<void> {
  const res = await rawRequest(port, text);
  output.push(`${res.status} ${JSON.stringify(res.headers)} ${res.body}`);
}

describe('secrets audit', () => {
  let crm: FakeSuiteCrm;
  let tap: { url: string; server: Server };
  const proxies: RunningProxy[] = [];

  before(async () => {
    crm = await startFakeSuiteCrm({
      clients: [
        { id: 'audit-cc', secret: CC_SECRET, grant: 'client_credentials', userId: '7' },
        { id: 'audit-pw', secret: PW_SECRET, grant: 'password' },
      ],
      users: [{ id: '7', username: 'auditor', password: PASSWORD }],
    });
    tap = await startTokenTap(crm.url);
  });

  after(async () => {
    for (const proxy of proxies) await proxy.close();
    tap.server.closeAllConnections();
    await new Promise((resolve) => tap.server.close(resolve));
    await crm.close();
  });

  async function proxyWith(env: Record<string, string>): Promise<RunningProxy> {
    const proxy = await startProxy(tap.url, { LOG_LEVEL: 'trace', PROXY_CLIENTS: CLIENTS, ...env });
    proxies.push(proxy);
    return proxy;
  }

  const PW = { SUITECRM_GRANT_TYPE: 'password', SUITECRM_CLIENT_ID: 'audit-pw', SUITECRM_CLIENT_SECRET: PW_SECRET, SUITECRM_USERNAME: 'auditor', SUITECRM_PASSWORD: PASSWORD };

  test('scenario: password grant, callers, refusals, rate limits, hostile input, revocation and replay', async () => {
    const proxy = await proxyWith(PW);
    const port = Number(new URL(proxy.url).port);
    const etl = { 'x-proxy-key': KEY_ETL };
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: etl })).status, 200);
    assert.equal((await call(`${proxy.url}/Api/V8/module`, { method: 'POST', headers: { ...etl, 'content-type': 'application/vnd.api+json' }, body: JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'Audit Ltd' } } }) })).status, 201);
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { authorization: `Bearer ${KEY_WRONG}` } })).status, 401);
    assert.equal((await call(`${proxy.url}/Api/V8/module/Contacts`, { headers: { authorization: `Bearer ${KEY_REPORTING}` } })).status, 403);
    for (let i = 0; i < 4; i++) await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_REPORTING } });
    assert.ok(proxy.logEvents('rate_limited').length >= 1);
    // Issue 8: answered locally; audit-pw is SuiteCRM's client, not a caller's, so SuiteCRM's "unknown client" 500.
    assert.equal((await call(`${proxy.url}/Api/access_token`, { method: 'POST', headers: { ...etl, 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=password&client_id=audit-pw&client_secret=${PW_SECRET}&username=auditor&password=${PASSWORD}` })).status, 500);
    await raw(port, `GET http://evil.example/Api/V8 HTTP/1.1\r\nHost: x\r\nX-Proxy-Key: ${KEY_ETL}\r\n\r\n`);
    await raw(port, `GET /Api/V8/module/Accounts HTTP/1.1\r\nHost: x\r\nX-Proxy-Key: ${KEY_ETL}\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`);
    await raw(port, `POST /Api/V8/module HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_ETL}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
    await raw(port, `POST /Api/V8/module HTTP/1.1\r\nHost: x\r\nX-Proxy-Key: ${KEY_ETL}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n_METHOD=DELETE&password=${PASSWORD.slice(0, 16)}`);
    // Every token dies: the proxy gets 401, refreshes (rotating the refresh token) and replays.
    crm.revokeAll();
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: etl })).status, 200);
    // The refresh grant fails too (the 7.13.3-7.14.4 bug): fallback to the password grant.
    crm.faults.refreshInvalidClientBug = true;
    crm.revokeAll();
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: etl })).status, 200);
    crm.faults.refreshInvalidClientBug = false;
    for (const path of ['/_proxy/healthz', '/_proxy/readyz', '/_proxy/metrics']) await call(`${proxy.url}${path}`);
    output.push(...proxy.logs);
    assert.ok(issuedTokens.size >= 3, `the tap saw the tokens SuiteCRM issued (${issuedTokens.size})`);
  });

  test('scenario: wrong password (SuiteCRM echoes it in a 500) and broken token endpoints', async () => {
    const proxy = await proxyWith({ ...PW, SUITECRM_PASSWORD: WRONG_PASSWORD, CREDENTIALS_RETRY_SECONDS: '60' });
    const res = await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL } });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('x-suitecrm-proxy-error'), 'CREDENTIALS_REJECTED');
    await call(`${proxy.url}/_proxy/readyz`);
    output.push(...proxy.logs);

    for (const fault of ['html500', 'garbage', 'error500'] as const) {
      const broken = await proxyWith({ SUITECRM_CLIENT_ID: 'audit-cc', SUITECRM_CLIENT_SECRET: CC_SECRET, TOKEN_RETRY_MAX_SECONDS: '0.05' });
      crm.faults.tokenEndpoint = fault;
      try {
        await call(`${broken.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL } });
        await call(`${broken.url}/_proxy/readyz`);
      } finally {
        crm.faults.tokenEndpoint = 'ok';
      }
      output.push(...broken.logs);
    }
  });

  test('scenario: refresh_token grant bootstrapped from a refresh token the user supplies', async () => {
    const bootstrap = await fetch(`${tap.url}/Api/access_token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'audit-pw', client_secret: PW_SECRET, username: 'auditor', password: PASSWORD }).toString(),
    });
    const { refresh_token: refreshToken } = (await bootstrap.json()) as { refresh_token: string };
    assert.ok(issuedTokens.has(refreshToken));
    const proxy = await proxyWith({ SUITECRM_GRANT_TYPE: 'refresh_token', SUITECRM_CLIENT_ID: 'audit-pw', SUITECRM_CLIENT_SECRET: PW_SECRET, SUITECRM_REFRESH_TOKEN: refreshToken });
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL } })).status, 200);
    output.push(...proxy.logs);
  });

  test('scenario: the local token endpoint: logins, refusals, disallowed grants, rate limit, throttle, refresh, logout, metrics', async () => {
    const tools = [
      { name: 'tool', clientId: 'audit-tool', clientSecret: TOOL_SECRET, username: 'tooler', password: TOOL_PASSWORD, rateLimit: { perSecond: 0.01, burst: 6 } },
      { name: 'cc-tool', clientId: 'audit-cc-tool', clientSecret: `${TOOL_SECRET}-cc` },
    ];
    const proxy = await proxyWith({ ...PW, PROXY_CLIENTS: JSON.stringify(tools), LOCAL_LOGIN_FAILURES_PER_MINUTE: '3', LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT: '2' });
    const login = { grant_type: 'password', client_id: 'audit-tool', client_secret: TOOL_SECRET, username: 'tooler', password: TOOL_PASSWORD };
    const first = await tokenCall(proxy.url, login);
    assert.equal((await tokenCall(proxy.url, { grant_type: 'refresh_token', client_id: 'audit-tool', client_secret: TOOL_SECRET, refresh_token: first.refresh })).status, 200);
    const second = await tokenCall(proxy.url, login);
    assert.equal((await tokenCall(proxy.url, login)).status, 200, 'evicts the tool\'s own oldest session');
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { authorization: `Bearer ${second.access}` } })).status, 200);
    assert.equal((await call(`${proxy.url}/Api/V8/logout`, { method: 'POST', headers: { authorization: `Bearer ${second.access}` } })).status, 200);
    assert.equal((await tokenCall(proxy.url, { ...login, grant_type: 'client_credentials' })).status, 401, 'a grant the tool is not set up for');
    assert.equal((await tokenCall(proxy.url, { ...login, password: TOOL_WRONG_PASSWORD })).status, 500);
    assert.equal((await tokenCall(proxy.url, login)).status, 200);
    assert.equal((await tokenCall(proxy.url, login)).status, 429, 'over its rateLimit');
    for (let i = 0; i < 4; i++) await tokenCall(proxy.url, { grant_type: 'client_credentials', client_id: 'audit-cc-tool', client_secret: TOOL_WRONG_SECRET });
    assert.equal((await tokenCall(proxy.url, { grant_type: 'client_credentials', client_id: 'audit-cc-tool', client_secret: `${TOOL_SECRET}-cc` })).status, 429, 'throttled');
    await call(`${proxy.url}/_proxy/metrics`);
    assert.ok(proxy.logEvents('local_token_refused').every((l) => l.caller === 'tool' || l.caller === 'cc-tool'));
    assert.ok(localTokens.size >= 5);
    output.push(...proxy.logs);
  });

  test('scenario: TOKEN_STORE=redis: everything the fleet keeps in Redis (limits, throttles, the token)', async (t) => {
    if (!needRedis(t)) return;
    const redis = await startRedis(t);
    const tool = { name: 'tool', clientId: 'audit-tool', clientSecret: TOOL_SECRET, username: 'tooler', password: TOOL_PASSWORD, rateLimit: { perSecond: 0.01, burst: 2 } };
    const callers = [...(JSON.parse(CLIENTS) as object[]), tool];
    const proxy = await startProxy(tap.url, { ...PW, LOG_LEVEL: 'trace', PROXY_CLIENTS: JSON.stringify(callers), TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: STORE_KEY });
    try {
      for (let i = 0; i < 4; i++) await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_REPORTING } });
      const login = { grant_type: 'password', client_id: 'audit-tool', client_secret: TOOL_SECRET, username: 'tooler', password: TOOL_PASSWORD };
      assert.equal((await tokenCall(proxy.url, login)).status, 200);
      assert.equal((await tokenCall(proxy.url, { ...login, client_secret: TOOL_WRONG_SECRET })).status, 401);
      assert.equal((await tokenCall(proxy.url, { ...login, password: TOOL_WRONG_PASSWORD })).status, 500);
      // Swapped settings: the secret sent as the client id. The answer names that id back to its
      // sender, as SuiteCRM does (not audited); it must reach neither Redis nor the log.
      const swapped = await fetch(`${proxy.url}/Api/access_token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...login, client_id: TOOL_SECRET, client_secret: 'audit-tool' }),
      });
      assert.equal(swapped.status, 500);
      await swapped.arrayBuffer();
      const admin = adminClient(t, redis.url);
      const keys = await admin.keys('*');
      assert.ok(keys.some((k) => k.includes(':{limits}:window:')) && keys.some((k) => k.includes(':{limits}:bucket:')), keys.join(', '));
      for (const key of keys) output.push(`redis ${key} ${JSON.stringify(await redisValue(admin, key))}`);
    } finally {
      await proxy.close();
      output.push(...proxy.logs);
    }
  });

  test('scenario: configuration errors never echo a secret', () => {
    const base = { SUITECRM_URL: 'https://crm.example.com', SUITECRM_CLIENT_ID: 'audit-cc', SUITECRM_CLIENT_SECRET: CC_SECRET };
    const bad: Record<string, string>[] = [
      { PROXY_CLIENTS: `[{"name":"etl","key":"${KEY_ETL}"` },
      { PROXY_CLIENTS: `[{"name":"etl","key":"${KEY_ETL}","methods":"GET"}]` },
      { PROXY_CLIENTS: `[{"name":"a","key":"${KEY_ETL}"},{"name":"b","key":"${KEY_ETL}"}]` },
      { PROXY_CLIENTS: `{"etl":{"key":"${KEY_ETL}","unknown":"${KEY_REPORTING}"}}` },
      { SUITECRM_URL: `https://auditor:${PASSWORD}@crm.example.com` },
      { SUITECRM_GRANT_TYPE: 'password', SUITECRM_USERNAME: 'auditor', SUITECRM_PASSWORD: PASSWORD, PROXY_PORT: 'eighty' },
      { SUITECRM_GRANT_TYPE: 'password', SUITECRM_USERNAME: 'auditor', SUITECRM_PASSWORD_FILE: '/run/secrets/pw', SUITECRM_PASSWORD: PASSWORD },
      { PROXY_HOST: '0.0.0.0' },
      { PROXY_CLIENTS: JSON.stringify([{ name: 'tool', clientId: 'audit-tool', clientSecret: TOOL_SECRET, username: 'tooler', password: TOOL_PASSWORD, grants: ['password', 'implicit'] }]) },
      { SUITECRM_CREDENTIALS: `{"writer": {"clientId": "audit-pw", "clientSecret": "${PW_SECRET}"` },
      { SUITECRM_CREDENTIALS: JSON.stringify({ writer: { clientId: 'audit-pw', clientSecret: PW_SECRET, password: PASSWORD, secret: CRED_WRONG_SECRET } }) },
      { SUITECRM_CREDENTIALS: JSON.stringify({ writer: { grantType: 'password', clientId: 'audit-pw', clientSecret: PW_SECRET, username: 'auditor', password: PASSWORD, passwordFile: '/run/secrets/pw' } }) },
      { SUITECRM_CREDENTIALS: JSON.stringify({ writer: { clientId: 'audit-pw', clientSecret: PW_SECRET } }), PROXY_CLIENTS: JSON.stringify([{ name: 'etl', key: KEY_ETL, suitecrm: 'nobody' }]) },
    ];
    for (const env of bad) {
      let caught: unknown;
      try {
        loadConfig({ ...base, ...env }, () => KEY_WRONG);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${Object.keys(env).join(',')}`);
      output.push(caught.message, String(caught.stack));
    }
  });

  test('scenario: the real process, from start-up to shutdown, with a bad and a good configuration', async () => {
    const main = fileURLToPath(new URL('../../src/main.js', import.meta.url));
    const env = {
      PATH: process.env.PATH ?? '', SUITECRM_URL: tap.url, ...PW, PROXY_CLIENTS: CLIENTS, PROXY_PORT: '0', LOG_LEVEL: 'trace',
    };
    const run = (extra: Record<string, string>, untilListening: boolean): Promise<{ text: string; port: number | undefined }> => new Promise((resolve) => {
      const child = spawn(process.execPath, [main], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let port: number | undefined;
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('utf8');
        const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
        if (untilListening && match && port === undefined) {
          port = Number(match[1]);
          void (async () => {
            for (const key of [KEY_ETL, KEY_WRONG]) await call(`http://127.0.0.1:${port}/Api/V8/module/Accounts`, { headers: { authorization: `Bearer ${key}` } });
            child.kill('SIGTERM');
          })();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('close', () => {
        clearTimeout(timer);
        resolve({ text, port });
      });
    });
    // No PROXY_CLIENTS and a non-loopback host: refused at start-up (nothing ever listens off loopback).
    const failed = await run({ PROXY_HOST: '0.0.0.0', PROXY_CLIENTS: '' }, false);
    assert.match(failed.text, /PROXY_CLIENTS/);
    const served = await run({}, true);
    assert.ok(served.port !== undefined, `the process listened: ${served.text.slice(0, 300)}`);
    assert.match(served.text, /"caller":"etl"/);
    output.push(failed.text, served.text);
    // --check-config prints what it found, step by step: with good and with wrong credentials.
    for (const extra of [{}, { SUITECRM_PASSWORD: WRONG_PASSWORD }]) {
      const check = spawnSync(process.execPath, [main, '--check-config'], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 20_000 });
      assert.ok(check.stdout.length + check.stderr.length > 0, 'check-config printed something');
      output.push(check.stdout, check.stderr);
    }
  });

  test('scenario: reloads of rotated secrets and callers, and a broken file, alone and with PROXY_WORKERS=2', async () => {
    for (const workers of ['1', '2']) {
      const dir = mkdtempSync(join(tmpdir(), 'audit-reload-'));
      const secretFile = join(dir, 'client_secret');
      const clientsFile = join(dir, 'clients.json');
      writeFileSync(secretFile, CC_SECRET);
      writeFileSync(clientsFile, JSON.stringify([{ name: 'etl', key: KEY_ETL }]));
      const proxy = await startProxyProcess({
        SUITECRM_URL: tap.url, SUITECRM_CLIENT_ID: 'audit-cc', SUITECRM_CLIENT_SECRET_FILE: secretFile, PROXY_CLIENTS_FILE: clientsFile,
        PROXY_WORKERS: workers, LOG_LEVEL: 'trace', CONFIG_POLL_SECONDS: '0.5',
      });
      try {
        const reloads = (event: string): number => proxy.logs().filter((l) => l.event === event).length;
        assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL } })).status, 200);
        crm.setClientSecret('audit-cc', CC_SECRET_ROTATED);
        writeFileSync(secretFile, CC_SECRET_ROTATED);
        writeFileSync(clientsFile, JSON.stringify([{ name: 'etl', key: KEY_ROTATED }]));
        await until('a reload', () => reloads('config_reloaded') >= 1);
        crm.revokeAll();
        await until('the rotated key', async () => (await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ROTATED } })).status === 200);
        // Broken in ways whose messages could quote a key: unterminated JSON, a key too short.
        writeFileSync(clientsFile, `[{"name":"etl","key":"${KEY_ROTATED}"`);
        await until('a failed reload', () => reloads('config_reload_failed') >= 1);
        writeFileSync(clientsFile, JSON.stringify([{ name: 'etl', key: KEY_ROTATED.slice(0, 10) }]));
        proxy.child.kill('SIGHUP');
        await until('a second failed reload', () => reloads('config_reload_failed') >= 2);
        await call(`${proxy.url}/_proxy/readyz`);
        await call(`${proxy.url}/_proxy/metrics`);
      } finally {
        proxy.child.kill('SIGTERM');
        await proxy.exited;
        crm.setClientSecret('audit-cc', CC_SECRET);
        rmSync(dir, { recursive: true, force: true });
      }
      output.push(...proxy.logs().map((line) => JSON.stringify(line)), proxy.stderr());
    }
  });

  test('scenario: several SuiteCRM credentials, one of them rejected, with revocation, readiness and metrics', async () => {
    const proxy = await proxyWith({
      SUITECRM_CLIENT_ID: 'audit-cc', SUITECRM_CLIENT_SECRET: CC_SECRET,
      SUITECRM_CREDENTIALS: JSON.stringify({
        writer: { grantType: 'password', clientId: 'audit-pw', clientSecret: PW_SECRET, username: 'auditor', password: PASSWORD },
        broken: { clientId: 'audit-cc', clientSecret: CRED_WRONG_SECRET },
      }),
      PROXY_CLIENTS: JSON.stringify([
        { name: 'etl', key: KEY_ETL },
        { name: 'reporting', key: KEY_REPORTING, suitecrm: 'writer' },
        { name: 'broken-svc', key: KEY_BROKEN, suitecrm: 'broken' },
      ]),
    });
    const as = (key: string) => call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': key } });
    assert.equal((await as(KEY_ETL)).status, 200);
    assert.equal((await as(KEY_REPORTING)).status, 200);
    assert.equal((await as(KEY_BROKEN)).status, 503);
    crm.revokeAll();
    assert.equal((await as(KEY_REPORTING)).status, 200, 'replayed with the writer credential\'s refreshed token');
    assert.equal((await call(`${proxy.url}/_proxy/readyz`)).status, 503);
    for (const path of ['/_proxy/healthz', '/_proxy/metrics']) await call(`${proxy.url}${path}`);
    output.push(...proxy.logs);
  });

  test('scenario: two replicas on one Redis (TOKEN_STORE=redis): the token and local sessions shared, and what Redis holds', async (t) => {
    if (!needRedis(t)) return;
    const redis = await startRedis(t);
    const tools = [{ name: 'tool', clientId: 'audit-redis-tool', clientSecret: TOOL_SECRET, username: 'tooler', password: TOOL_PASSWORD }];
    const env = { ...PW, TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: STORE_KEY, PROXY_CLIENTS: JSON.stringify(tools) };
    const [a, b] = [await proxyWith(env), await proxyWith(env)] as [RunningProxy, RunningProxy];
    const login = { grant_type: 'password', client_id: 'audit-redis-tool', client_secret: TOOL_SECRET, username: 'tooler', password: TOOL_PASSWORD };
    const first = await tokenCall(a.url, login);
    const api = (proxy: RunningProxy, token: string) => call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await api(b, first.access)).status, 200, 'a token from one replica works on the other');
    const rotated = await tokenCall(b.url, { grant_type: 'refresh_token', client_id: 'audit-redis-tool', client_secret: TOOL_SECRET, refresh_token: first.refresh });
    assert.equal(rotated.status, 200);
    const second = await tokenCall(a.url, login);
    assert.equal((await call(`${b.url}/Api/V8/logout`, { method: 'POST', headers: { authorization: `Bearer ${second.access}` } })).status, 200);
    assert.equal((await api(a, rotated.access)).status, 200);
    for (const proxy of [a, b]) for (const path of ['/_proxy/readyz', '/_proxy/metrics']) await call(`${proxy.url}${path}`);
    // Everything Redis holds, key names and values of every type, is audited like any output.
    const stored = await redisContents(adminClient(t, redis.url));
    assert.ok(stored.includes(':s:') && stored.includes(':token'), 'the sessions and the token record are there');
    output.push(stored, ...a.logs, ...b.logs);
  });

  test('scenario: callers that hang up, stray bytes behind a request, a paused credential retried (issue 22)', async () => {
    const proxy = await proxyWith({ SUITECRM_CLIENT_ID: 'audit-cc', SUITECRM_CLIENT_SECRET: CC_SECRET });
    const port = Number(new URL(proxy.url).port);
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL } })).status, 200);
    let release!: () => void;
    crm.faults.apiHold = { until: new Promise<void>((resolve) => { release = resolve; }) };
    const gone = await fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL }, signal: AbortSignal.timeout(200) }).catch((err: Error) => err.name);
    assert.equal(gone, 'TimeoutError');
    await until('the 499 line', () => proxy.logs.some((l) => l.includes('"status":499')));
    release();
    crm.faults = {};
    const body = JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'Audit Pipelined' } } });
    await raw(port, `POST /Api/V8/module HTTP/1.1\r\nHost: x\r\nX-Proxy-Key: ${KEY_ETL}\r\nContent-Type: application/vnd.api+json\r\nContent-Length: ${body.length}\r\n\r\n${body}X\r\n\r\n`);
    // Rejected, paused, then retried at once (an operator's SIGHUP) once SuiteCRM takes the secret again.
    crm.setClientSecret('audit-cc', CRED_WRONG_SECRET);
    crm.revokeAll();
    assert.equal((await call(`${proxy.url}/Api/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL } })).status, 503);
    crm.setClientSecret('audit-cc', CC_SECRET);
    proxy.app.reload.credentials!.retryPaused();
    await until('the retry', () => proxy.logEvents('token_pause_ended').length === 1 && proxy.app.tokens.source('default')?.current() !== undefined);
    output.push(...proxy.logs);
  });

  test('scenario: SuiteCRM 8 at its site address: API detection, both spellings, readiness, --check-config, an address without the API', async () => {
    const crm8 = await startFakeSuiteCrm({
      layout: 'suitecrm8',
      clients: [{ id: 'audit-pw', secret: PW_SECRET, grant: 'password' }],
      users: [{ id: '7', username: 'auditor', password: PASSWORD }],
    });
    const tap8 = await startTokenTap(crm8.url);
    try {
      const proxy = await startProxy(tap8.url, { LOG_LEVEL: 'trace', PROXY_CLIENTS: CLIENTS, ...PW });
      for (const prefix of ['/Api', '/legacy/Api', '/legacy/Api/index.php']) {
        assert.equal((await call(`${proxy.url}${prefix}/V8/module/Accounts`, { headers: { 'x-proxy-key': KEY_ETL } })).status, 200);
      }
      assert.equal((await call(`${proxy.url}/_proxy/readyz`)).status, 200);
      output.push(...proxy.logs);
      await proxy.close();
      const env = { SUITECRM_URL: `${tap8.url}/legacy`, ...PW };
      const lines: string[] = [];
      assert.equal(await checkConfig({ env, fileValues: {}, configPath: undefined, merged: env }, (l) => lines.push(l), (l) => lines.push(l)), 0, lines.join('\n'));
      output.push(...lines);
      const lost = await startProxy(`${tap8.url}/crm`, { LOG_LEVEL: 'trace', ...PW });
      assert.equal((await call(`${lost.url}/Api/V8/module/Accounts`)).status, 503);
      assert.equal((await call(`${lost.url}/_proxy/readyz`)).status, 503);
      output.push(...lost.logs);
      await lost.close();
    } finally {
      tap8.server.closeAllConnections();
      await new Promise((resolve) => tap8.server.close(resolve));
      await crm8.close();
    }
  });

  test('zero hits: no secret and no issued token appears in any captured output', () => {
    assert.ok(output.length > 50, `enough output was captured (${output.length} items)`);
    const haystack = output.join('\n');
    const hits = secretsToFind().filter((secret) => haystack.includes(secret));
    for (const hit of hits) {
      const at = haystack.indexOf(hit);
      // Shows where, with the secret itself cut out.
      process.stderr.write(`leak context: ${haystack.slice(Math.max(0, at - 200), at)}<SECRET>\n`);
    }
    assert.deepEqual(hits.map((h) => `${h.slice(0, 12)}... (${h.length} chars)`), [], 'secrets found in captured output');
  });
});
