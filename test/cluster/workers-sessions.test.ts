/**
 * PROXY_WORKERS=2 with callers that log in at the proxy's own token endpoint (clientId/clientSecret
 * in PROXY_CLIENTS), the real process group in front of the SuiteCRM double: it starts (it used to
 * refuse), a local token issued by one worker works on both, a refresh and a logout hold on both,
 * and the session limits count for the group. Every request is on a new connection, so node:cluster
 * spreads them over the workers; which worker answered is read from the request log lines.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { call, login, logout, refresh, type OAuthTool } from '../support/local-login.js';
import { startProxyProcess, type ProxyProcess } from '../support/proxy-process.js';
import { CC_ENV } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

const CC_TOOL: OAuthTool = { name: 'cc-tool', clientId: 'cc-tool-client', clientSecret: 'cc-tool-S3cret-0123456789' };
const PW_TOOL: OAuthTool = { name: 'pw-tool', clientId: 'pw-tool-client', clientSecret: 'pw-tool-S3cret-0123456789', username: 'jane', password: 'jane-Secr3t-pw' };
const CAPPED: OAuthTool = { name: 'capped-tool', clientId: 'capped-client', clientSecret: 'capped-S3cret-0123456789' };

let crm: FakeSuiteCrm;
let group: ProxyProcess;

before(async () => {
  crm = await startFakeSuiteCrm();
  group = await startProxyProcess({
    ...CC_ENV, SUITECRM_URL: crm.url, PROXY_WORKERS: '2', LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT: '3',
    PROXY_CLIENTS: JSON.stringify([CC_TOOL, PW_TOOL, CAPPED]),
  });
  await until('both workers listening', () => group.logs().filter((l) => String(l.msg).startsWith('Server listening')).length === 2, 30_000);
});

after(async () => {
  group.child.kill('SIGTERM');
  await group.exited;
  await crm.close();
});

/**
 * The workers that answered `status` from log line `from` on. The tests send one request at a
 * time, so every request line after `from` is theirs (a refused one names no caller).
 */
function workersAnswering(status: number, from: number): Set<unknown> {
  return new Set(group.logs().slice(from).filter((l) => l.msg === 'request' && l.status === status).map((l) => l.worker));
}

/**
 * Calls with `token` until both workers have answered `status` (bounded), on new connections that
 * node:cluster hands to the workers in turn. Returns every status seen.
 */
async function untilBothWorkersAnswer(token: string, status: number): Promise<number[]> {
  const from = group.logs().length;
  const seen: number[] = [];
  await until(`both workers to answer ${status}`, async () => {
    seen.push(await call(group.url, token));
    return workersAnswering(status, from).size === 2;
  }, 20_000);
  return seen;
}

test('a local token issued by one worker is accepted by both', async () => {
  const { access } = await login(group.url, CC_TOOL);
  const statuses = await untilBothWorkersAnswer(access, 200);
  assert.deepEqual([...new Set(statuses)], [200]);
});

test('a logout at one worker ends the session on both within 1 s', async () => {
  const { access } = await login(group.url, CC_TOOL);
  await untilBothWorkersAnswer(access, 200);
  assert.equal(await logout(group.url, access), 200);
  const loggedOutAt = Date.now();
  // The logout's own worker knew at once; the other heard it from the primary.
  await untilBothWorkersAnswer(access, 401);
  const took = Date.now() - loggedOutAt;
  assert.ok(took < 1_000, `both workers refused the token ${took} ms after the logout`);
});

test('a refresh at one worker rotates the pair on both: the old pair fails everywhere, the new one works everywhere', async () => {
  const first = await login(group.url, PW_TOOL);
  await untilBothWorkersAnswer(first.access, 200);
  const rotated = await refresh(group.url, PW_TOOL, String(first.refresh));
  assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
  assert.deepEqual([...new Set(await untilBothWorkersAnswer(first.access, 401))], [401]);
  assert.deepEqual([...new Set(await untilBothWorkersAnswer(String(rotated.json.access_token), 200))], [200]);
  const spent = await refresh(group.url, PW_TOOL, String(first.refresh));
  assert.equal(spent.status, 401, 'a refresh token is spent once for the group');
  assert.equal(spent.json.hint, 'Token has been revoked');
});

test('LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT counts for the group: the least recently used session goes, on both workers', async () => {
  const sessions = [];
  for (let i = 0; i < 5; i++) sessions.push(await login(group.url, CAPPED));
  for (const evicted of sessions.slice(0, 2)) assert.deepEqual([...new Set(await untilBothWorkersAnswer(evicted.access, 401))], [401]);
  for (const kept of sessions.slice(2)) assert.deepEqual([...new Set(await untilBothWorkersAnswer(kept.access, 200))], [200]);
  const metrics = await (await fetch(`${group.url}/_proxy/metrics`)).text();
  assert.match(metrics, /^suitecrm_proxy_local_sessions\{caller="capped-tool"\} 3$/m, 'every worker reports the group\'s sessions');
});

test('no token, secret or password in any log line of the group', () => {
  const text = JSON.stringify(group.logs());
  for (const secret of [CC_TOOL.clientSecret, PW_TOOL.clientSecret, CAPPED.clientSecret, String(PW_TOOL.password), 'spat_', 'sprt_']) {
    assert.ok(!text.includes(secret), `a log line holds ${secret.slice(0, 6)}...`);
  }
});
