/**
 * Issue 20 end to end: SuiteCRM 7 and SuiteCRM 8 layouts of the double (layout.ts) × SUITECRM_URL
 * at the site or at its /legacy × every caller spelling of the API. Each works: reads, creates,
 * a caller's rule holds for every spelling, OAuth tools log in at either token path and use their
 * token on either spelling, readiness and --check-config name the API base, and SuiteCRM never
 * sees a doubled /legacy/legacy. Several SuiteCRM credentials find the API once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkConfig } from '../../src/cli/check-config.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { JSONAPI } from '../support/jsonapi.js';
import { LegacyTool } from '../support/oauth-tool.js';
import { CC_ENV, startProxy, type RunningProxy } from '../support/proxy-harness.js';

const SPELLINGS = ['/Api', '/legacy/Api', '/Api/index.php', '/legacy/Api/index.php'];
const WRITER = { name: 'writer', key: 'writer-key-0123456789abcdef' };
/** The same rule written in each of the two spellings people use. */
const READERS = [
  { name: 'reader-7', key: 'reader7-key-0123456789abcdef', methods: ['GET'], paths: ['/Api/V8/module/Accounts*'] },
  { name: 'reader-8', key: 'reader8-key-0123456789abcdef', methods: ['GET'], paths: ['/legacy/Api/V8/module/Accounts*'] },
];
const TOOL = { name: 'tool', clientId: 'spelling-tool', clientSecret: 'spelling-S3cret-0123456789' };
const CLIENTS = JSON.stringify([WRITER, ...READERS, TOOL]);

async function send(url: string, key: string, method = 'GET', body?: unknown): Promise<number> {
  const headers: Record<string, string> = { 'x-proxy-key': key, accept: JSONAPI };
  if (body !== undefined) headers['content-type'] = JSONAPI;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

for (const layout of ['suitecrm7', 'suitecrm8'] as const) {
  for (const form of ['', '/legacy']) {
    const base = layout === 'suitecrm7' ? '/Api' : '/legacy/Api';
    describe(`${layout} with SUITECRM_URL ${form === '' ? 'at the site' : 'at .../legacy'}`, () => {
      let crm: FakeSuiteCrm;
      let proxy: RunningProxy;
      before(async () => {
        crm = await startFakeSuiteCrm({ layout });
        proxy = await startProxy(`${crm.url}${form}`, { PROXY_CLIENTS: CLIENTS });
      });
      after(async () => {
        await proxy.close();
        await crm.close();
      });

      test('every spelling reads and creates at the one SuiteCRM endpoint; the log line shows the canonical path', async () => {
        for (const spelling of SPELLINGS) {
          assert.equal(await send(`${proxy.url}${spelling}/V8/module/Accounts?page[size]=1`, WRITER.key), 200, spelling);
          assert.equal(crm.requests.at(-1)?.path, `${base}/V8/module/Accounts?page[size]=1`, spelling);
          const created = await send(`${proxy.url}${spelling}/V8/module`, WRITER.key, 'POST', { data: { type: 'Accounts', attributes: { name: `Spelled ${spelling}` } } });
          assert.equal(created, 201, spelling);
        }
        const paths = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request').map((l) => l.path);
        assert.deepEqual([...new Set(paths)].sort(), ['/Api/V8/module', '/Api/V8/module/Accounts']);
      });

      test('a caller\'s rule holds for every spelling, whichever spelling it was written in', async () => {
        for (const reader of READERS) {
          for (const spelling of SPELLINGS) {
            assert.equal(await send(`${proxy.url}${spelling}/V8/module/Accounts`, reader.key), 200, `${reader.name} ${spelling}`);
            assert.equal(await send(`${proxy.url}${spelling}/V8/module/Contacts`, reader.key), 403, `${reader.name} ${spelling}`);
            assert.equal(await send(`${proxy.url}${spelling}/V8/module`, reader.key, 'POST', { data: { type: 'Accounts' } }), 403, `${reader.name} ${spelling}`);
          }
        }
      });

      test('SuiteCRM\'s token endpoint stays out of reach in every spelling, case and trailing slash', async () => {
        const before = crm.tokenRequestCount();
        for (const spelling of SPELLINGS) {
          assert.equal(await send(`${proxy.url}${spelling}/access_token/`, WRITER.key, 'POST'), 403, spelling);
          assert.equal(await send(`${proxy.url}${spelling.toLowerCase()}/ACCESS_TOKEN`, WRITER.key, 'POST'), 403, spelling);
        }
        assert.equal(crm.tokenRequestCount(), before);
      });

      test('a tool logs in at either token path and uses its token on either spelling', async () => {
        for (const tokenPath of ['/Api/access_token', '/legacy/Api/access_token']) {
          const tool = new LegacyTool({ baseUrl: proxy.url, clientId: TOOL.clientId, clientSecret: TOOL.clientSecret, tokenPath });
          await tool.login();
          for (const apiPrefix of ['/Api', '/legacy/Api']) {
            const res = await fetch(`${proxy.url}${apiPrefix}/V8/module/Accounts`, { headers: { authorization: `Bearer ${tool.accessToken}` } });
            assert.equal(res.status, 200, `${tokenPath} then ${apiPrefix}`);
            await res.arrayBuffer();
          }
          assert.equal((await tool.logout()).status, 200);
        }
        assert.equal(crm.grantsIssued(), 1, 'no tool login reached SuiteCRM: one grant, the proxy\'s');
      });

      test('SuiteCRM never saw /legacy/legacy; readiness and the start-up line name the API base', async () => {
        assert.ok(crm.seenPaths.length > 0);
        assert.deepEqual(crm.seenPaths.filter((path) => path.includes('/legacy/legacy')), []);
        const tokenPaths = crm.seenPaths.filter((path) => path.endsWith('/access_token'));
        assert.equal(tokenPaths.at(-1), `${base}/access_token`, 'the token endpoint was the detected one');
        assert.equal(tokenPaths.filter((path) => path === `${base}/access_token`).length, crm.probes.length + crm.tokenRequestCount());
        const ready = await fetch(`${proxy.url}/_proxy/readyz`);
        assert.equal(ready.status, 200);
        const meta = ((await ready.json()) as { meta: { suitecrmApi: unknown } }).meta;
        assert.deepEqual(meta.suitecrmApi, { base, source: 'detected' });
        const found = proxy.logEvents('suitecrm_api_base');
        assert.deepEqual(found.map((l) => [l.apiBase, l.source]), [[base, 'detected']]);
      });

      test('--check-config exits 0 and names the API base it found', async () => {
        const env = { SUITECRM_URL: `${crm.url}${form}`, ...CC_ENV };
        const lines: string[] = [];
        const code = await checkConfig({ env, fileValues: {}, configPath: undefined, merged: env }, (l) => lines.push(l), (l) => lines.push(l));
        assert.equal(code, 0, lines.join('\n'));
        const escaped = `${crm.url}${base}`.replace(/[.]/g, '\\.');
        assert.ok(lines.some((l) => new RegExp(`^suitecrm: V8 API at ${escaped} \\(detected; POST .*access_token answered as SuiteCRM's OAuth server\\)$`).test(l)), lines.join('\n'));
        assert.ok(lines.includes('result: OK'));
        assert.ok(lines.some((l) => l.startsWith(`token: POST ${crm.url}${base}/access_token `)), lines.join('\n'));
      });
    });
  }
}

test('several SuiteCRM credentials share one SuiteCRM: the API is found once, every credential\'s token comes from it', async (t) => {
  const crm = await startFakeSuiteCrm({ layout: 'suitecrm8' });
  t.after(() => crm.close());
  const proxy = await startProxy(crm.url, {
    SUITECRM_CREDENTIALS: JSON.stringify({ writer: { grantType: 'password', clientId: 'pw-client', clientSecret: 'pw-secret-S3cr3t!', username: 'admin', password: 'admin-P4ssw0rd!' } }),
    PROXY_CLIENTS: JSON.stringify([{ name: 'reports', key: 'reports-key-0123456789abcdef' }, { name: 'writer', key: 'writerx-key-0123456789abcdef', suitecrm: 'writer' }]),
  });
  t.after(() => proxy.close());
  assert.equal(await send(`${proxy.url}/Api/V8/module/Accounts`, 'reports-key-0123456789abcdef'), 200);
  assert.equal(await send(`${proxy.url}/legacy/Api/V8/module/Accounts`, 'writerx-key-0123456789abcdef'), 200);
  assert.deepEqual(crm.tokenRequests.map((r) => r.grant).sort(), ['client_credentials', 'password']);
  assert.deepEqual(crm.seenPaths.filter((path) => path.endsWith('/access_token')),
    ['/Api/access_token', '/legacy/Api/access_token', '/legacy/Api/access_token', '/legacy/Api/access_token'], 'one detection, then one token request per credential');
  assert.equal(proxy.logEvents('suitecrm_api_base').length, 1);
});
