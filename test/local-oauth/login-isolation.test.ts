/**
 * Issue 15: at the proxy's own token endpoint one tool can never lock out or log out the others.
 * Real sockets (the app on 127.0.0.1:0, every tool on loopback like in the default set-up), a
 * fake clock, log lines read from the harness's sink.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { configError } from '../support/config-error.js';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { parseExposition } from '../support/prometheus-text.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

const FORM = 'application/x-www-form-urlencoded';
const A = { name: 'tool-a', clientId: 'tool-a-client', clientSecret: 'tool-a-S3cret-0123456789', rateLimit: { perSecond: 1, burst: 5 } };
const B = { name: 'tool-b', clientId: 'tool-b-client', clientSecret: 'tool-b-S3cret-0123456789' };
/** No rate limit: only the session bounds stand between its logins and the other tools. */
const C = { name: 'tool-c', clientId: 'tool-c-client', clientSecret: 'tool-c-S3cret-0123456789' };
const PW = { name: 'pw-tool', clientId: 'pw-tool-client', clientSecret: 'pw-tool-S3cret-0123456789', username: 'jane', password: 'jane-Secr3t-pw' };
const PW_CC = { ...PW, name: 'pw-cc-tool', clientId: 'pw-cc-tool-client', grants: ['password', 'client_credentials'] };
const SECRETS = [A, B, C, PW, PW_CC].map((t) => t.clientSecret).concat(PW.password);

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

async function post(proxy: RunningProxy, body: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${proxy.url}/Api/access_token`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body: new URLSearchParams(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

const cc = (tool: { clientId: string; clientSecret: string }, secret = tool.clientSecret) => ({ grant_type: 'client_credentials', client_id: tool.clientId, client_secret: secret });
const pw = (tool: typeof PW) => ({ grant_type: 'password', client_id: tool.clientId, client_secret: tool.clientSecret, username: tool.username, password: tool.password });

async function login(proxy: RunningProxy, tool: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await post(proxy, cc(tool));
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return String(res.json.access_token);
}

function api(proxy: RunningProxy, token: string): Promise<number> {
  return fetch(`${proxy.url}/Api/V8/module/Accounts`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });
}

async function start(t: TestContext, env: Record<string, string>, clients: readonly object[] = [A, B, C]): Promise<{ proxy: RunningProxy; clock: { now: number } }> {
  const crm = await startFakeSuiteCrm();
  const clock = { now: Date.now() };
  const proxy = await startProxy(crm.url, { PROXY_CLIENTS: JSON.stringify(clients), ...env }, { now: () => clock.now });
  t.after(async () => {
    await proxy.close();
    await crm.close();
  });
  return { proxy, clock };
}

function assertNoSecretLogged(proxy: RunningProxy, tokens: readonly string[] = []): void {
  const text = proxy.logs.join('\n');
  for (const secret of [...SECRETS, ...tokens]) assert.ok(!text.includes(secret), 'a secret or token leaked into the log');
}

describe('one tool\'s logins never log another tool out', () => {
  test('tool A logs in 50 times in a burst: A is rate limited (429, league shape, Retry-After), B\'s token keeps working', async (t) => {
    const { proxy } = await start(t, { LOCAL_TOKEN_MAX_SESSIONS: '5' });
    const tokenB = await login(proxy, B);
    const burst = await Promise.all(Array.from({ length: 50 }, () => post(proxy, cc(A))));
    const statuses = burst.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 5, 'A\'s burst of 5');
    assert.equal(statuses.filter((s) => s === 429).length, 45);
    const limited = burst.find((r) => r.status === 429)!;
    assert.equal(limited.headers.get('content-type'), 'application/json');
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal(limited.headers.get('x-suitecrm-proxy-error'), null, 'SuiteCRM\'s shape, not the proxy\'s');
    assert.deepEqual(Object.keys(limited.json), ['error', 'error_description', 'hint', 'message']);
    assert.equal(limited.json.error, 'too_many_requests');
    assert.equal(await api(proxy, tokenB), 200, 'B is still logged in');

    const metrics = parseExposition(await (await fetch(`${proxy.url}/_proxy/metrics`)).text());
    assert.equal(metrics.value('suitecrm_proxy_local_logins_total', { caller: 'tool-a', outcome: 'success' }), 5);
    assert.equal(metrics.value('suitecrm_proxy_local_logins_total', { caller: 'tool-a', outcome: 'rate_limited' }), 45);
    assert.equal(metrics.value('suitecrm_proxy_local_sessions', { caller: 'tool-b' }), 1);
    assert.equal(metrics.value('suitecrm_proxy_local_sessions', { caller: 'tool-a' }), 4, 'the global bound of 5 took from A, who held the most');
    assert.ok(proxy.logEvents('local_token_refused').filter((l) => l.error === 'too_many_requests').every((l) => l.caller === 'tool-a'));
    assertNoSecretLogged(proxy, [tokenB]);
  });

  test('a tool without a rate limit logging in 50 times only evicts its own sessions (per caller bound)', async (t) => {
    const { proxy } = await start(t, { LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT: '3' });
    const tokenB = await login(proxy, B);
    const tokensC: string[] = [];
    for (let i = 0; i < 50; i++) tokensC.push(await login(proxy, C));
    assert.equal(await api(proxy, tokenB), 200, 'B is still logged in');
    assert.equal(await api(proxy, tokensC[49]!), 200);
    assert.equal(await api(proxy, tokensC[0]!), 401, 'C\'s own oldest session went');
    const metrics = parseExposition(await (await fetch(`${proxy.url}/_proxy/metrics`)).text());
    assert.equal(metrics.value('suitecrm_proxy_local_sessions', { caller: 'tool-c' }), 3);
  });

  test('the issue\'s repro: burst 1, six logins, LOCAL_TOKEN_MAX_SESSIONS=5: the other caller stays logged in', async (t) => {
    const { proxy } = await start(t, { LOCAL_TOKEN_MAX_SESSIONS: '5' }, [{ ...A, rateLimit: { perSecond: 1, burst: 1 } }, B]);
    const tokenB = await login(proxy, B);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(proxy, cc(A))).status);
    assert.deepEqual(statuses, [200, 429, 429, 429, 429, 429]);
    assert.equal(await api(proxy, tokenB), 200);
  });
});

describe('one tool\'s failed logins never lock the others out', () => {
  test('tool A sends 30 wrong secrets: A gets 429 for its client id, B logs in at once', async (t) => {
    const { proxy, clock } = await start(t, {});
    const wrong: number[] = [];
    for (let i = 0; i < 30; i++) wrong.push((await post(proxy, cc(A, `wrong-secret-${i}`))).status);
    assert.deepEqual(wrong, [...Array<number>(20).fill(401), ...Array<number>(10).fill(429)], 'LOCAL_LOGIN_FAILURES_PER_MINUTE (20) per client id');
    assert.equal((await post(proxy, cc(B))).status, 200, 'B is not slowed down');
    const blocked = await post(proxy, cc(A));
    assert.equal(blocked.status, 429, 'A is, even with its right secret');
    assert.equal(blocked.headers.get('x-suitecrm-proxy-error'), 'RATE_LIMITED');
    assert.equal(blocked.headers.get('retry-after'), '60');
    assert.match(JSON.stringify(blocked.json), /LOCAL_LOGIN_FAILURES_PER_MINUTE/);
    clock.now += 60_000;
    assert.equal((await post(proxy, cc(A))).status, 200, 'a new minute');
    const throttled = proxy.logEvents('local_token_throttled');
    assert.equal(throttled.length, 11);
    assert.ok(throttled.every((l) => l.caller === 'tool-a' && l.scope === 'client'));
    assertNoSecretLogged(proxy);
  });

  test('guessing client ids hits the per-address ceiling: then every client id waits, for the minute', async (t) => {
    const { proxy, clock } = await start(t, { LOCAL_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE: '10' });
    for (let i = 0; i < 10; i++) assert.equal((await post(proxy, cc({ clientId: `guess-${i}`, clientSecret: 'x' }))).status, 500);
    const blocked = await post(proxy, cc(B));
    assert.equal(blocked.status, 429);
    assert.match(JSON.stringify(blocked.json), /LOCAL_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE/);
    assert.equal((await post(proxy, cc({ clientId: 'guess-11', clientSecret: 'x' }))).status, 429, 'no answer tells a known client id from an unknown one');
    const line = proxy.logEvents('local_token_throttled').find((l) => l.scope === 'address');
    assert.equal(line?.caller, 'tool-b', 'the log names the caller the client id belongs to');
    clock.now += 60_000;
    assert.equal((await post(proxy, cc(B))).status, 200);
    const metrics = parseExposition(await (await fetch(`${proxy.url}/_proxy/metrics`)).text());
    assert.equal(metrics.value('suitecrm_proxy_local_logins_total', { caller: '-', outcome: 'rejected' }), 10, 'unknown client ids are never labels');
    assert.equal(metrics.value('suitecrm_proxy_local_logins_total', { caller: 'tool-b', outcome: 'throttled' }), 1);
  });
});

describe('grants follow SuiteCRM\'s model', () => {
  test('a password-configured caller: client_credentials is 401 invalid_client, unless its "grants" lists it', async (t) => {
    const { proxy } = await start(t, {}, [PW, PW_CC]);
    const refused = await post(proxy, cc(PW));
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.json, { error: 'invalid_client', error_description: 'Client authentication failed', message: 'Client authentication failed' });
    const basic = { authorization: `Basic ${Buffer.from(`${PW.clientId}:${PW.clientSecret}`).toString('base64')}` };
    const viaBasic = await post(proxy, { grant_type: 'client_credentials' }, basic);
    assert.equal(viaBasic.status, 401);
    assert.equal(viaBasic.headers.get('www-authenticate'), 'Basic realm="OAuth"');

    const loggedIn = await post(proxy, pw(PW));
    assert.equal(loggedIn.status, 200, 'its password grant works');
    const refreshed = await post(proxy, { grant_type: 'refresh_token', client_id: PW.clientId, client_secret: PW.clientSecret, refresh_token: String(loggedIn.json.refresh_token) });
    assert.equal(refreshed.status, 200, 'and refresh_token with it');

    const allowed = await post(proxy, cc(PW_CC));
    assert.equal(allowed.status, 200, '"grants": ["password", "client_credentials"]');
    assert.equal(allowed.json.refresh_token, undefined);
    assert.equal((await post(proxy, pw(PW_CC))).status, 200);
    const line = proxy.logEvents('local_token_refused').find((l) => l.error === 'invalid_client');
    assert.deepEqual([line?.caller, line?.grant], ['pw-tool', 'client_credentials']);
    assertNoSecretLogged(proxy, [String(loggedIn.json.access_token), String(loggedIn.json.refresh_token)]);
  });

  test('an unknown grant name stops the proxy at start-up, naming the caller and the field', () => {
    const err = configError({
      SUITECRM_URL: 'https://crm.example.com', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'secret',
      PROXY_CLIENTS: JSON.stringify([{ ...PW, grants: ['password', 'authorization_code'] }]),
    }, {}, SECRETS);
    assert.equal(err.setting, 'PROXY_CLIENTS');
    assert.match(err.message, /caller "pw-tool"\.grants: "authorization_code" is not a grant the local token endpoint knows/);
  });
});

describe('every refused login names its caller in the log', () => {
  test('wrong secret, disallowed grant, missing or unknown user, scope, bad refresh token, wrong password, throttle', async (t) => {
    const { proxy } = await start(t, { LOCAL_LOGIN_FAILURES_PER_MINUTE: '4' }, [PW, B]);
    const base = { client_id: PW.clientId, client_secret: PW.clientSecret };
    const login = { ...base, grant_type: 'password', username: PW.username, password: PW.password };
    const attempts: Array<Record<string, string>> = [
      { ...login, client_secret: 'wrong-secret' },
      { ...base, grant_type: 'client_credentials' },
      { ...base, grant_type: 'password', password: PW.password },
      { ...login, scope: 'all' },
      { ...login, username: 'bob' },
      { ...base, grant_type: 'refresh_token', refresh_token: 'sprt_nope' },
      { ...login, password: 'wrong-password' },
      login,
    ];
    const statuses: number[] = [];
    for (const body of attempts) statuses.push((await post(proxy, body)).status);
    // Four failures (the 400s guess nothing), then pw-tool's client id waits.
    assert.deepEqual(statuses, [401, 401, 400, 400, 500, 401, 429, 429]);
    assert.equal((await post(proxy, cc(B, 'wrong'))).status, 401);

    const refusals = [...proxy.logEvents('local_token_refused'), ...proxy.logEvents('local_token_throttled')];
    assert.equal(refusals.length, 9);
    for (const line of refusals) assert.ok(line.caller === 'pw-tool' || line.caller === 'tool-b', JSON.stringify(line));
    assert.equal(refusals.filter((l) => l.caller === 'tool-b').length, 1);
    assertNoSecretLogged(proxy);
  });

  test('the rate limit\'s refusal names the caller too, and issued tokens name theirs', async (t) => {
    const { proxy } = await start(t, {}, [{ ...B, rateLimit: { perSecond: 0.001, burst: 1 } }]);
    assert.equal((await post(proxy, cc(B))).status, 200);
    assert.equal((await post(proxy, cc(B))).status, 429);
    assert.deepEqual(proxy.logEvents('local_token_issued').map((l) => l.caller), ['tool-b']);
    assert.deepEqual(proxy.logEvents('local_token_refused').map((l) => [l.caller, l.error]), [['tool-b', 'too_many_requests']]);
  });
});
