/**
 * Issue 8 end to end: OAuth-speaking legacy tools, using the unmodified simple-oauth2 client
 * library, log in at the proxy, refresh, work with the V8 JSON:API and log out, with nothing
 * changed but the base URL. SuiteCRM (the double) only ever sees the proxy's own token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { LegacyTool } from '../support/oauth-tool.js';
import { CC_ENV, startProxy, type RunningProxy } from '../support/proxy-harness.js';

/** Secrets with characters simple-oauth2 form-encodes in its Basic header (`! + / % :`). */
const CC = { name: 'report-tool', clientId: 'report-tool-client', clientSecret: 'report-S3cret!+/%:0123456789' };
const PW = { name: 'sync-tool', clientId: 'sync-tool-client', clientSecret: 'sync-S3cret!-0123456789', username: 'jane', password: 'jane-P4ss word!' };
const KEYED = { name: 'keyed', key: 'keyed-caller-key-0123456789abcdef' };
/** Rules and a rate limit: a local token must be held to them exactly like a key. */
const LIMITED = { name: 'limited-tool', clientId: 'limited-tool-client', clientSecret: 'limited-S3cret-0123456789', methods: ['GET'], rateLimit: { perSecond: 0.001, burst: 2 } };
const LEGACY_CLIENTS = JSON.stringify([CC, PW, KEYED, LIMITED]);

const ACCESS_DENIED_MESSAGE = 'The resource owner or authorization server denied the request.';

function assertOnlyProxyTokens(crm: FakeSuiteCrm, localTokens: readonly string[]): void {
  assert.ok(crm.requests.length > 0, 'SuiteCRM saw the API calls');
  for (const seen of crm.requests) {
    const auth = String(seen.headers.authorization ?? '');
    assert.match(auth, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, `${seen.method} ${seen.path} carried the proxy's SuiteCRM JWT`);
    assert.ok(seen.tokenJti, 'SuiteCRM accepted it');
    for (const local of localTokens) assert.ok(!JSON.stringify(seen.headers).includes(local), 'a local token never reaches SuiteCRM');
  }
}

describe('legacy OAuth tools through the proxy (simple-oauth2)', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;
  const localTokens: string[] = [];

  before(async () => {
    crm = await startFakeSuiteCrm();
    proxy = await startProxy(crm.url, { PROXY_CLIENTS: LEGACY_CLIENTS });
  });
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  test('client_credentials: login, list, create, update, delete, logout; the local token then gets SuiteCRM\'s 401', async () => {
    const tool = new LegacyTool({ baseUrl: proxy.url, clientId: CC.clientId, clientSecret: CC.clientSecret });
    const token = await tool.login();
    assert.equal(token.token.token_type, 'Bearer');
    assert.equal(token.token.expires_in, 3600);
    assert.equal(token.token.refresh_token, undefined, 'client_credentials never gets a refresh token');
    assert.match(tool.accessToken, /^spat_[\w-]{43}$/);
    localTokens.push(tool.accessToken);

    const list = await tool.api('GET', '/V8/module/Accounts?page[size]=2');
    assert.equal(list.status, 200);
    assert.ok(Array.isArray((list.body as { data: unknown[] }).data));

    const created = await tool.api('POST', '/V8/module', { data: { type: 'Accounts', attributes: { name: 'Legacy Ltd' } } });
    assert.equal(created.status, 201);
    const id = (created.body as { data: { id: string } }).data.id;
    const updated = await tool.api('PATCH', '/V8/module', { data: { type: 'Accounts', id, attributes: { name: 'Legacy Plc' } } });
    assert.equal(updated.status, 201, 'SuiteCRM answers an update with 201');
    assert.equal((updated.body as { data: { attributes: { name: string } } }).data.attributes.name, 'Legacy Plc');
    const deleted = await tool.api('DELETE', `/V8/module/Accounts/${id}`);
    assert.equal(deleted.status, 200);

    const logout = await tool.logout();
    assert.equal(logout.status, 200);
    assert.deepEqual(logout.body, { meta: { message: 'You have been successfully logged out' }, data: [] });
    assert.equal(logout.contentType, 'application/vnd.api+json');

    const afterLogout = await tool.api('GET', '/V8/module/Accounts');
    assert.equal(afterLogout.status, 401);
    assert.equal(afterLogout.contentType, 'application/json');
    assert.deepEqual(afterLogout.body, {
      error: 'access_denied', error_description: ACCESS_DENIED_MESSAGE, hint: 'Access token has been revoked', message: ACCESS_DENIED_MESSAGE,
    });
  });

  test('password grant: login, refresh (rotation), CRUD with the new token, logout', async () => {
    const tool = new LegacyTool({ baseUrl: proxy.url, ...PW });
    const first = await tool.login();
    assert.match(String(first.token.refresh_token), /^sprt_[\w-]{43}$/);
    const firstAccess = tool.accessToken;
    const firstRefresh = String(first.token.refresh_token);
    localTokens.push(firstAccess, firstRefresh);

    await tool.refresh();
    assert.notEqual(tool.accessToken, firstAccess);
    assert.notEqual(tool.token?.token.refresh_token, firstRefresh);
    localTokens.push(tool.accessToken, String(tool.token?.token.refresh_token));

    assert.equal((await tool.api('GET', '/V8/module/Accounts', undefined, firstAccess)).status, 401, 'a refresh revokes the old access token');
    const reuse = await fetch(`${proxy.url}/Api/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: PW.clientId, client_secret: PW.clientSecret, refresh_token: firstRefresh }),
    });
    assert.equal(reuse.status, 401);
    assert.equal(((await reuse.json()) as { hint: string }).hint, 'Token has been revoked');

    const created = await tool.api('POST', '/V8/module', { data: { type: 'Contacts', attributes: { last_name: 'Legacy' } } });
    assert.equal(created.status, 201);
    const id = (created.body as { data: { id: string } }).data.id;
    assert.equal((await tool.api('GET', `/V8/module/Contacts/${id}`)).status, 200);
    assert.equal((await tool.api('PATCH', '/V8/module', { data: { type: 'Contacts', id, attributes: { first_name: 'Old' } } })).status, 201);
    assert.equal((await tool.api('DELETE', `/V8/module/Contacts/${id}`)).status, 200);
    assert.equal((await tool.logout()).status, 200);
    assert.equal((await tool.api('GET', '/V8/module/Accounts')).status, 401);

    // The logged-out session's refresh token is gone too, as after SuiteCRM's logout.
    await assert.rejects(tool.refresh(), (err: { output?: { statusCode?: number } }) => err.output?.statusCode === 401);
  });

  test('SuiteCRM saw only the proxy\'s token, one grant in all, and no logout', () => {
    assertOnlyProxyTokens(crm, localTokens);
    assert.equal(crm.grantsIssued(), 1, 'the proxy\'s own grant only');
    assert.equal(crm.tokenRequestCount(), 1, 'no tool login reached SuiteCRM');
    assert.ok(!crm.requests.some((r) => r.path.includes('logout')), 'logout is never forwarded');
  });

  test('a logout with a key answers SuiteCRM\'s body, ends nothing and reaches nobody', async () => {
    const headers = { 'x-proxy-key': KEYED.key };
    const logout = await fetch(`${proxy.url}/legacy/Api/V8/logout`, { method: 'POST', headers });
    assert.equal(logout.status, 200);
    assert.deepEqual(await logout.json(), { meta: { message: 'You have been successfully logged out' }, data: [] });
    assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers })).status, 200, 'the key still works');
    assert.ok(!crm.requests.some((r) => r.path.includes('logout')));
    assert.equal(crm.grantsIssued(), 1);
  });

  test('a local token carries its caller\'s rules, rate limit and log label', async () => {
    const tool = new LegacyTool({ baseUrl: proxy.url, clientId: LIMITED.clientId, clientSecret: LIMITED.clientSecret });
    await tool.login();
    localTokens.push(tool.accessToken);
    assert.equal((await tool.api('GET', '/V8/module/Accounts')).status, 200);
    const write = await tool.api('POST', '/V8/module', { data: { type: 'Accounts', attributes: { name: 'Nope' } } });
    assert.equal(write.status, 403);
    assert.deepEqual((write.body as { errors: { code: string }[] }).errors.map((e) => e.code), ['FORBIDDEN']);
    assert.equal((await tool.api('GET', '/V8/module/Accounts')).status, 200);
    assert.equal((await tool.api('GET', '/V8/module/Accounts')).status, 429, 'the burst of 2 is spent (the refused POST never reached the limiter)');
    const lines = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request' && l.caller === LIMITED.name);
    assert.ok(lines.length >= 3, 'request log lines carry the caller name');
  });

  test('no spelling of logout reaches SuiteCRM: encoded ones are answered locally, near misses refused', async () => {
    const headers = { 'x-proxy-key': KEYED.key };
    const before = crm.requests.length;
    for (const path of ['/Api/V8/%6cogout', '/Api/%56%38/logout', '/Api/index.php/V8/logout', '/legacy/Api/index.php/V8/logout']) {
      assert.equal((await fetch(`${proxy.url}${path}`, { method: 'POST', headers })).status, 200, path);
    }
    for (const path of ['/Api/V8/logout/', '/Api/V8/logout;x', '/Api/V8/LOGOUT', '/legacy/Api/V8/Logout/']) {
      assert.equal((await fetch(`${proxy.url}${path}`, { method: 'POST', headers })).status, 403, path);
    }
    assert.equal(crm.requests.length, before);
  });

  test('no secret, password or local token appears in the proxy log', () => {
    const text = proxy.logs.join('\n');
    for (const secret of [CC.clientSecret, PW.clientSecret, PW.password, KEYED.key, ...localTokens]) {
      assert.ok(!text.includes(secret), 'a secret leaked into the log');
    }
    assert.ok(proxy.logEvents('local_token_issued').length >= 3);
    assert.ok(proxy.logEvents('local_logout').length >= 2);
  });
});

describe('without PROXY_CLIENTS: a tool keeps the SuiteCRM credentials it already had', () => {
  test('the proxy\'s own client id and secret log in locally (simple-oauth2 form-encodes the "!"), others are refused', async () => {
    const crm = await startFakeSuiteCrm();
    const proxy = await startProxy(crm.url, CC_ENV);
    try {
      const tool = new LegacyTool({ baseUrl: proxy.url, clientId: CC_ENV.SUITECRM_CLIENT_ID, clientSecret: CC_ENV.SUITECRM_CLIENT_SECRET });
      await tool.login();
      assert.equal((await tool.api('GET', '/V8/module/Accounts')).status, 200);
      assert.equal((await tool.logout()).status, 200);
      assert.equal((await tool.api('GET', '/V8/module/Accounts')).status, 401, 'even anonymous local tokens end at logout');
      const wrong = new LegacyTool({ baseUrl: proxy.url, clientId: CC_ENV.SUITECRM_CLIENT_ID, clientSecret: 'not-the-secret' });
      await assert.rejects(wrong.login(), (err: { output?: { statusCode?: number } }) => err.output?.statusCode === 401);
      assert.equal(crm.grantsIssued(), 1, 'the proxy\'s own grant only');
      assert.equal(crm.tokenRequestCount(), 1);
    } finally {
      await proxy.close();
      await crm.close();
    }
  });
});
