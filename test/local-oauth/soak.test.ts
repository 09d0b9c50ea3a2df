/**
 * Issue 8, "Counts": ten legacy tools (simple-oauth2, five with client credentials, five with
 * the password grant) log in, call the API, sometimes refresh, and log out, in a loop, and
 * SuiteCRM issues no grant beyond the proxy's own one.
 *
 * `npm test` runs it for LEGACY_SOAK_SECONDS (default 8 s); `npm run test:legacy-soak` runs the
 * full minute. Each tool pauses between rounds, so the minute costs little CPU: what is counted
 * is grants, not speed.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { LegacyTool } from '../support/oauth-tool.js';
import { startProxy } from '../support/proxy-harness.js';

const SECONDS = Number(process.env.LEGACY_SOAK_SECONDS ?? '8');
const TOOLS = 10;
const PAUSE_MS = 250;
/** A bound on the loop whatever the clock does. */
const MAX_ROUNDS_PER_TOOL = 1000;

interface ToolSpec {
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username?: string;
  readonly password?: string;
}

const tools: ToolSpec[] = Array.from({ length: TOOLS }, (_, i) => ({
  name: `tool-${i}`,
  clientId: `tool-${i}-client`,
  clientSecret: `tool-${i}-S3cret!-0123456789`,
  ...(i % 2 === 1 ? { username: `user-${i}`, password: `user-${i}-P4ss` } : {}),
}));

test(`ten legacy tools logging in and out for ${SECONDS} s cause no SuiteCRM grant beyond the proxy's own`, async (t) => {
  assert.ok(Number.isFinite(SECONDS) && SECONDS > 0 && SECONDS <= 600, 'LEGACY_SOAK_SECONDS must be 1-600');
  const crm = await startFakeSuiteCrm();
  const proxy = await startProxy(crm.url, { PROXY_CLIENTS: JSON.stringify(tools), LOG_LEVEL: 'warn' });
  t.after(async () => {
    await proxy.close();
    await crm.close();
  });

  const deadline = Date.now() + SECONDS * 1000;
  const counts = { logins: 0, refreshes: 0, apiCalls: 0, logouts: 0, failures: [] as string[] };
  const rounds = await Promise.all(tools.map(async (spec, index) => {
    const tool = new LegacyTool({ baseUrl: proxy.url, ...spec, tokenPath: index % 4 === 3 ? '/legacy/Api/access_token' : '/Api/access_token' });
    let round = 0;
    for (; round < MAX_ROUNDS_PER_TOOL && Date.now() < deadline; round++) {
      await tool.login();
      counts.logins++;
      if (spec.username !== undefined && round % 3 === 2) {
        await tool.refresh();
        counts.refreshes++;
      }
      const list = await tool.api('GET', '/V8/module/Accounts?page[size]=1');
      counts.apiCalls++;
      if (list.status !== 200) counts.failures.push(`${spec.name} list ${list.status}`);
      const token = tool.accessToken;
      const logout = await tool.logout();
      counts.logouts++;
      if (logout.status !== 200) counts.failures.push(`${spec.name} logout ${logout.status}`);
      const stale = await tool.api('GET', '/V8/module/Accounts?page[size]=1', undefined, token);
      if (stale.status !== 401) counts.failures.push(`${spec.name} token still valid after logout: ${stale.status}`);
      await sleep(PAUSE_MS);
    }
    return round;
  }));

  t.diagnostic(`${counts.logins} logins, ${counts.refreshes} refreshes, ${counts.apiCalls} API calls, ${counts.logouts} logouts in ${SECONDS} s; SuiteCRM grants: ${crm.grantsIssued()}, token requests: ${crm.tokenRequestCount()}`);
  assert.deepEqual(counts.failures, []);
  assert.ok(rounds.every((r) => r >= 1), `every tool completed at least one round: ${rounds.join(',')}`);
  assert.equal(crm.grantsIssued(), 1, 'only the proxy\'s own SuiteCRM grant');
  assert.equal(crm.tokenRequestCount(), 1, 'no tool login reached SuiteCRM');
  assert.equal(crm.requests.filter((r) => r.path.includes('logout')).length, 0, 'no logout reached SuiteCRM');
  assert.equal(crm.requests.length, counts.apiCalls, 'exactly the tools\' API calls reached SuiteCRM, all with the one shared token');
  assert.ok(crm.requests.every((r) => r.tokenJti === crm.requests[0]?.tokenJti && r.status === 200));
});
