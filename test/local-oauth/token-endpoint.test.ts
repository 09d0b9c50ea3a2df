/**
 * The local token endpoint speaks SuiteCRM's dialect (league 8, /work/shared/suitecrm-api.md
 * §2-4): one test per error case, the success shape, the endpoint paths, stale local tokens on
 * V8, and the one deliberate difference (no password echo). Nothing here reaches SuiteCRM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

const CC = { name: 'cc-tool', clientId: 'cc-tool-client', clientSecret: 'cc-tool-S3cret-0123456789' };
const PW = { name: 'pw-tool', clientId: 'pw-tool-client', clientSecret: 'pw-tool-S3cret-0123456789', username: 'jane', password: 'jane-Secr3t-pw' };

const FORM = 'application/x-www-form-urlencoded';
const INVALID_REQUEST = 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.';
const UNSUPPORTED = 'The authorization grant type is not supported by the authorization server.';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

function leagueError(error: string, message: string, hint?: string): Record<string, unknown> {
  return hint === undefined ? { error, error_description: message, message } : { error, error_description: message, hint, message };
}

describe('local token endpoint: SuiteCRM dialect', () => {
  let crm: FakeSuiteCrm;
  let proxy: RunningProxy;

  async function token(body: string | Record<string, string> | undefined, contentType?: string, headers: Record<string, string> = {}, path = '/Api/access_token'): Promise<Answer> {
    const text = typeof body === 'object' ? new URLSearchParams(body).toString() : body;
    const res = await fetch(`${proxy.url}${path}`, {
      method: 'POST',
      headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...headers },
      body: text,
    });
    const raw = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      // Not JSON; the test looks at text.
    }
    return { status: res.status, headers: res.headers, text: raw, json };
  }

  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  const ccForm = { grant_type: 'client_credentials', client_id: CC.clientId, client_secret: CC.clientSecret };

  before(async () => {
    crm = await startFakeSuiteCrm();
    // This suite fails logins on purpose, far more often than the default throttle allows.
    proxy = await startProxy(crm.url, { PROXY_CLIENTS: JSON.stringify([CC, PW]), LOCAL_LOGIN_FAILURES_PER_MINUTE: '1000' });
  });
  after(async () => {
    await proxy.close();
    await crm.close();
  });

  test('success: 200, SuiteCRM headers, compact body in SuiteCRM key order', async () => {
    const res = await token(ccForm, FORM);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=UTF-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.text, /^\{"token_type":"Bearer","expires_in":3600,"access_token":"spat_[\w-]{43}"\}$/);
  });

  test('password grant adds a refresh token; client_credentials never does', async () => {
    const res = await token({ grant_type: 'password', client_id: PW.clientId, client_secret: PW.clientSecret, username: PW.username, password: PW.password }, FORM);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json), ['token_type', 'expires_in', 'access_token', 'refresh_token']);
    assert.match(String(res.json.refresh_token), /^sprt_/);
  });

  test('JSON, application/vnd.api+json and any +json type with a charset are parsed like form bodies', async () => {
    for (const type of ['application/json', 'application/vnd.api+json', 'application/x-custom+json; charset=utf-8']) {
      const res = await token(JSON.stringify(ccForm), type);
      assert.equal(res.status, 200, type);
    }
  });

  test('multipart/form-data is parsed too', async () => {
    const form = new FormData();
    for (const [k, v] of Object.entries(ccForm)) form.append(k, v);
    const res = await fetch(`${proxy.url}/Api/access_token`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
  });

  test('HTTP Basic client authentication, as sent and RFC 6749 form-encoded', async () => {
    assert.equal((await token({ grant_type: 'client_credentials' }, FORM, basic(CC.clientId, CC.clientSecret))).status, 200);
    assert.equal((await token({ grant_type: 'client_credentials' }, FORM, basic(encodeURIComponent(CC.clientId), encodeURIComponent(CC.clientSecret).replace(/-/g, '%2D')))).status, 200);
    // Each parameter falls back to Basic on its own: client_id from the body, the secret from Basic.
    assert.equal((await token({ grant_type: 'client_credentials', client_id: CC.clientId }, FORM, basic('ignored', CC.clientSecret))).status, 200);
  });

  test('every token path variant is answered by the proxy, none by SuiteCRM', async () => {
    for (const path of ['/Api/access_token', '/Api/index.php/access_token', '/legacy/Api/access_token', '/legacy/Api/index.php/access_token']) {
      assert.equal((await token(ccForm, FORM, {}, path)).status, 200, path);
    }
    assert.equal(crm.tokenRequestCount(), 0);
  });

  test('no, unknown or mismatched content type, or a non-object body: 400 unsupported_grant_type', async () => {
    const cases: Array<[string | undefined, string | undefined]> = [
      [JSON.stringify(ccForm), undefined],
      [JSON.stringify(ccForm), 'text/plain'],
      [JSON.stringify(ccForm), FORM],
      [new URLSearchParams(ccForm).toString(), 'application/json'],
      ['"client_credentials"', 'application/json'],
      ['[1,2]', 'application/json'],
      [undefined, FORM],
    ];
    for (const [body, type] of cases) {
      const res = await token(body, type);
      assert.equal(res.status, 400, `${type} ${body}`);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(res.json, leagueError('unsupported_grant_type', UNSUPPORTED, 'Check that all required parameters have been provided'));
    }
  });

  test('grant types SuiteCRM does not enable: 400 unsupported_grant_type', async () => {
    for (const grant of ['authorization_code', 'implicit', 'CLIENT_CREDENTIALS', '']) {
      assert.equal((await token({ ...ccForm, grant_type: grant }, FORM)).json.error, 'unsupported_grant_type', grant);
    }
  });

  test('missing client_id: 400 invalid_request, "Check the `client_id` parameter"', async () => {
    const res = await token({ grant_type: 'client_credentials', client_secret: 'x' }, FORM);
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, leagueError('invalid_request', INVALID_REQUEST, 'Check the `client_id` parameter'));
  });

  test('a non-string secret in JSON: 400 invalid_request for client_secret', async () => {
    const res = await token(JSON.stringify({ ...ccForm, client_secret: 12345 }), 'application/json');
    assert.equal(res.status, 400);
    assert.equal(res.json.hint, 'Check the `client_secret` parameter');
  });

  test('unknown or empty client id: 500 unknown_error with SuiteCRM\'s message', async () => {
    const unknown = await token({ ...ccForm, client_id: 'nope' }, FORM);
    assert.equal(unknown.status, 500);
    assert.deepEqual(unknown.json, leagueError('unknown_error', 'OAuth2Clients module with id nope is not found'));
    const empty = await token({ ...ccForm, client_id: '' }, FORM);
    assert.equal(empty.json.message, 'Module id is empty when trying to get OAuth2Clients');
  });

  test('wrong or missing secret: 401 invalid_client; WWW-Authenticate only when Basic auth was used', async () => {
    const body = await token({ ...ccForm, client_secret: 'wrong' }, FORM);
    assert.equal(body.status, 401);
    assert.deepEqual(body.json, leagueError('invalid_client', 'Client authentication failed'));
    assert.equal(body.headers.get('www-authenticate'), null);
    const missing = await token({ grant_type: 'client_credentials', client_id: CC.clientId }, FORM);
    assert.equal(missing.status, 401);
    const viaBasic = await token({ grant_type: 'client_credentials' }, FORM, basic(CC.clientId, 'wrong'));
    assert.equal(viaBasic.status, 401);
    assert.equal(viaBasic.headers.get('www-authenticate'), 'Basic realm="OAuth"');
  });

  test('password grant for a caller without username/password: 401 invalid_client', async () => {
    const res = await token({ ...ccForm, grant_type: 'password', username: 'jane', password: 'x' }, FORM);
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'invalid_client');
  });

  test('a scope: 400 invalid_scope naming the first one (escaped like league); blank scopes pass', async () => {
    const res = await token({ ...ccForm, scope: ' read <b>' }, FORM);
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, leagueError('invalid_scope', 'The requested scope is invalid, unknown, or malformed', 'Check the `read` scope'));
    assert.equal((await token({ ...ccForm, scope: '<b>' }, FORM)).json.hint, 'Check the `&lt;b&gt;` scope');
    assert.equal((await token({ ...ccForm, scope: '  ' }, FORM)).status, 200);
  });

  test('password grant: missing username or password: 400 invalid_request naming it', async () => {
    const base = { grant_type: 'password', client_id: PW.clientId, client_secret: PW.clientSecret };
    assert.equal((await token({ ...base, password: 'x' }, FORM)).json.hint, 'Check the `username` parameter');
    assert.equal((await token({ ...base, username: PW.username }, FORM)).json.hint, 'Check the `password` parameter');
  });

  test('unknown user: 500 unknown_error like SuiteCRM; wrong password: the same, but the password is never echoed', async () => {
    const base = { grant_type: 'password', client_id: PW.clientId, client_secret: PW.clientSecret };
    const user = await token({ ...base, username: 'bob', password: PW.password }, FORM);
    assert.equal(user.status, 500);
    assert.deepEqual(user.json, leagueError('unknown_error', 'No user found with this username: bob'));
    const wrongPassword = 'my-Wr0ng-Passw0rd';
    const pass = await token({ ...base, username: PW.username, password: wrongPassword }, FORM);
    assert.equal(pass.status, 500);
    assert.deepEqual(pass.json, leagueError('unknown_error', 'The password is invalid'));
    assert.ok(!pass.text.includes(wrongPassword));
    assert.ok(!proxy.logs.join('\n').includes(wrongPassword), 'nor logged');
  });

  test('refresh: garbage, another caller\'s token, a spent token: 401 invalid_request with SuiteCRM\'s hints', async () => {
    const login = await token({ grant_type: 'password', client_id: PW.clientId, client_secret: PW.clientSecret, username: PW.username, password: PW.password }, FORM);
    const refreshToken = String(login.json.refresh_token);
    const refresh = (clientId: string, secret: string, value: string) =>
      token({ grant_type: 'refresh_token', client_id: clientId, client_secret: secret, refresh_token: value }, FORM);
    const garbage = await refresh(PW.clientId, PW.clientSecret, 'def50200abcdef');
    assert.equal(garbage.status, 401);
    assert.deepEqual(garbage.json, leagueError('invalid_request', 'The refresh token is invalid.', 'Cannot decrypt the refresh token'));
    assert.equal((await refresh(CC.clientId, CC.clientSecret, refreshToken)).json.hint, 'Token is not linked to client');
    assert.equal((await refresh(PW.clientId, PW.clientSecret, refreshToken)).status, 200);
    const spent = await refresh(PW.clientId, PW.clientSecret, refreshToken);
    assert.equal(spent.status, 401);
    assert.equal(spent.json.hint, 'Token has been revoked');
    const missing = await token({ grant_type: 'refresh_token', client_id: PW.clientId, client_secret: PW.clientSecret }, FORM);
    assert.equal(missing.status, 400);
    assert.equal(missing.json.hint, 'Check the `refresh_token` parameter');
  });

  test('other methods: 405 with Allow; OPTIONS (CORS preflight): 200', async () => {
    const get = await fetch(`${proxy.url}/Api/access_token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const options = await fetch(`${proxy.url}/Api/access_token`, { method: 'OPTIONS' });
    assert.equal(options.status, 200);
    assert.equal(await options.text(), 'Allowed methods: POST');
  });

  test('an unknown local token on V8: SuiteCRM\'s 401 access_denied, no WWW-Authenticate; a wrong key keeps the proxy\'s 401', async () => {
    const res = await fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { authorization: `Bearer spat_${'A'.repeat(43)}` } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('www-authenticate'), null);
    const message = 'The resource owner or authorization server denied the request.';
    assert.deepEqual(await res.json(), leagueError('access_denied', message, 'Access token has been revoked'));
    const key = await fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { authorization: 'Bearer not-a-key-and-not-local' } });
    assert.equal(key.status, 401);
    assert.equal(key.headers.get('x-suitecrm-proxy-error'), 'UNAUTHENTICATED');
    assert.equal(crm.requests.length, 0, 'nothing reached SuiteCRM');
  });
});

describe('local tokens expire after LOCAL_TOKEN_TTL_SECONDS (fake clock)', () => {
  test('a token works until its TTL, then gets SuiteCRM\'s 401', async () => {
    const crm = await startFakeSuiteCrm();
    let now = Date.now();
    const proxy = await startProxy(crm.url, { PROXY_CLIENTS: JSON.stringify([CC]), LOCAL_TOKEN_TTL_SECONDS: '120' }, { now: () => now });
    try {
      const res = await fetch(`${proxy.url}/Api/access_token`, { method: 'POST', headers: { 'content-type': FORM }, body: new URLSearchParams(ccForm()) });
      const body = (await res.json()) as { expires_in: number; access_token: string };
      assert.equal(body.expires_in, 120);
      const call = () => fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { authorization: `Bearer ${body.access_token}` } });
      assert.equal((await call()).status, 200);
      now += 119_000;
      assert.equal((await call()).status, 200);
      now += 1_000;
      const expired = await call();
      assert.equal(expired.status, 401);
      assert.equal(((await expired.json()) as { error: string }).error, 'access_denied');
    } finally {
      await proxy.close();
      await crm.close();
    }
  });
});

describe('failed logins are throttled per address (LOCAL_LOGIN_FAILURES_PER_MINUTE, fake clock)', () => {
  test('past the limit even correct credentials get 429 until the minute ends; malformed requests do not count', async () => {
    const crm = await startFakeSuiteCrm();
    let now = Date.now();
    const proxy = await startProxy(crm.url, { PROXY_CLIENTS: JSON.stringify([CC]), LOCAL_LOGIN_FAILURES_PER_MINUTE: '3' }, { now: () => now });
    const post = (body: Record<string, string>) => fetch(`${proxy.url}/Api/access_token`, { method: 'POST', headers: { 'content-type': FORM }, body: new URLSearchParams(body) });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await post({ grant_type: 'client_credentials' })).status, 400, 'a malformed request');
      for (let i = 0; i < 3; i++) assert.equal((await post({ ...ccForm(), client_secret: `guess-${i}` })).status, 401);
      const blocked = await post(ccForm());
      assert.equal(blocked.status, 429);
      assert.equal(blocked.headers.get('x-suitecrm-proxy-error'), 'RATE_LIMITED');
      assert.equal(blocked.headers.get('retry-after'), '60');
      now += 60_000;
      assert.equal((await post(ccForm())).status, 200, 'a new minute');
      assert.equal(proxy.logEvents('local_token_throttled').length, 1);
    } finally {
      await proxy.close();
      await crm.close();
    }
  });
});

function ccForm(): Record<string, string> {
  return { grant_type: 'client_credentials', client_id: CC.clientId, client_secret: CC.clientSecret };
}
