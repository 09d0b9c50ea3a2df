/**
 * A local token of the proxy's own token endpoint carries its caller, and so its caller's
 * SuiteCRM credential (issue #13): an OAuth-speaking tool mapped to a read-only credential logs
 * in at the proxy and its calls reach SuiteCRM as that credential's user, never as another's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CREDENTIALS, DEFAULT_ENV, IDENTITY, startCredentialsDouble } from '../support/credentials-fixture.js';
import { startProxy } from '../support/proxy-harness.js';

const TOOLS = [
  { name: 'bi-tool', clientId: 'bi-tool-client', clientSecret: 'bi-tool-S3cret-0123456789', suitecrm: 'reporting-ro' },
  { name: 'billing-tool', clientId: 'billing-tool-client', clientSecret: 'billing-tool-S3cret-0123', suitecrm: 'invoicing' },
  { name: 'script', clientId: 'script-client', clientSecret: 'script-S3cret-0123456789' },
];

test('local tokens carry their caller\'s credential to SuiteCRM', async (t) => {
  const fake = await startCredentialsDouble(t);
  const proxy = await startProxy(fake.url, { ...DEFAULT_ENV, SUITECRM_CREDENTIALS: JSON.stringify(CREDENTIALS), PROXY_CLIENTS: JSON.stringify(TOOLS) });
  t.after(() => proxy.close());

  for (const tool of TOOLS) {
    const login = await fetch(`${proxy.url}/Api/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: tool.clientId, client_secret: tool.clientSecret }).toString(),
    });
    assert.equal(login.status, 200, tool.name);
    const { access_token: local } = await login.json() as { access_token: string };
    const me = await fetch(`${proxy.url}/Api/V8/current-user`, { headers: { authorization: `Bearer ${local}` } });
    const body = await me.json() as { data?: { id?: string } };
    const credential = (tool.suitecrm ?? 'default') as keyof typeof IDENTITY;
    assert.equal(body.data?.id, IDENTITY[credential].userId, `${tool.name} runs as its credential's user`);
    const sent = fake.requests.at(-1);
    assert.equal(sent?.tokenClientId, IDENTITY[credential].clientId);
    assert.notEqual(sent?.headers.authorization, `Bearer ${local}`, 'the local token is never forwarded');
  }
  const lines = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request' && l.path === '/Api/V8/current-user');
  assert.deepEqual(lines.map((l) => [l.caller, l.credential]), [['bi-tool', 'reporting-ro'], ['billing-tool', 'invoicing'], ['script', 'default']]);
});
