/**
 * Reloads of SUITECRM_CREDENTIALS (issue #13): a credential added by a reload has its token
 * before the first caller is sent its way, a removed one is gone with its callers, a rotated
 * secret touches only its credential, and a new credential that gets no token changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from 'undici';
import {
  CALLERS, CREDENTIALS, DEFAULT_ENV, IDENTITY, WRONG_SECRET, callAs, proxyClients, readiness, startCredentialsDouble, tokenRequestsByClient,
} from '../support/credentials-fixture.js';
import { reloadableProxy, writeConfig } from '../support/reloadable-proxy.js';

const REPORTING = CALLERS.filter((c) => c.suitecrm === 'reporting-ro');
const INVOICING = CALLERS.filter((c) => c.suitecrm === 'invoicing');
const WRITERS = CALLERS.filter((c) => c.suitecrm === undefined);

/** The config file's settings for the callers given and the credentials they use. */
function settings(callers: typeof CALLERS, credentials: Record<string, unknown>): Record<string, unknown> {
  return { ...DEFAULT_ENV, SUITECRM_CREDENTIALS: credentials, PROXY_CLIENTS: JSON.parse(proxyClients(callers)) as unknown };
}

test('credentials added, rotated and removed by reloads; a new one without a token changes nothing', async (t) => {
  const fake = await startCredentialsDouble(t);
  const dir = mkdtempSync(join(tmpdir(), 'reload-credentials-'));
  const dispatcher = new Agent();
  t.after(async () => { rmSync(dir, { recursive: true, force: true }); await dispatcher.close(); });
  const initial = settings([...WRITERS, ...REPORTING], { 'reporting-ro': CREDENTIALS['reporting-ro'] });
  const { proxy, reloader, configPath } = await reloadableProxy(fake.url, dir, 'credentials', initial);
  t.after(() => proxy.close());
  const call = (caller: (typeof CALLERS)[number]) => callAs(proxy.url, caller, dispatcher);

  assert.equal((await call(REPORTING[0]!)).userId, IDENTITY['reporting-ro'].userId);
  assert.equal((await call(WRITERS[0]!)).userId, IDENTITY.default.userId);
  assert.equal((await call(INVOICING[0]!)).status, 401, 'invoice-svc is not a caller yet');

  // Added: its token is obtained while the reload prepares, so its first caller does not wait.
  writeConfig(configPath, settings(CALLERS, CREDENTIALS));
  const before = fake.tokenRequests.length;
  assert.equal((await reloader.reload('SIGHUP')).outcome, 'success');
  assert.deepEqual(tokenRequestsByClient(fake, before), { 'inv-client': 1 });
  const invoice = await call(INVOICING[0]!);
  assert.equal(invoice.userId, IDENTITY.invoicing.userId);
  assert.deepEqual(tokenRequestsByClient(fake, before), { 'inv-client': 1 }, 'the first invoicing request used the warmed token');
  const [added] = proxy.logEvents('config_reloaded');
  assert.deepEqual(added?.credentials, { invoicing: 'added' });

  // Rotated: only that credential's next token request uses the new secret; no token is dropped.
  fake.setClientSecret('ro-client', 'CRED-ro-rotated-Wq8Zr2');
  writeConfig(configPath, settings(CALLERS, { ...CREDENTIALS, 'reporting-ro': { ...CREDENTIALS['reporting-ro'], clientSecret: 'CRED-ro-rotated-Wq8Zr2' } }));
  const rotatedAt = fake.tokenRequests.length;
  assert.equal((await reloader.reload('SIGHUP')).outcome, 'success');
  assert.equal(fake.tokenRequests.length, rotatedAt, 'a new secret is used from the next token request');
  assert.deepEqual(proxy.logEvents('config_reloaded')[1]?.credentials, { 'reporting-ro': 'secret' });
  assert.equal((await call(REPORTING[1]!)).userId, IDENTITY['reporting-ro'].userId);

  // A new credential whose token cannot be had fails the whole reload: its caller is not added either.
  const broken = { ...CREDENTIALS, extra: { clientId: 'ro-client', clientSecret: WRONG_SECRET } };
  writeConfig(configPath, { ...settings(CALLERS, broken), PROXY_CLIENTS: [...JSON.parse(proxyClients(CALLERS)) as object[], { name: 'extra-svc', key: 'CRED-key-extra-svc-4b1d9e', suitecrm: 'extra' }] });
  const failed = await reloader.reload('SIGHUP');
  assert.equal(failed.outcome, 'failed');
  assert.equal(failed.outcome === 'failed' ? failed.setting : '', 'SUITECRM_CREDENTIALS');
  assert.equal(proxy.app.tokens.source('extra'), undefined);
  assert.equal((await callAs(proxy.url, { name: 'extra-svc', key: 'CRED-key-extra-svc-4b1d9e', presentAs: 'x-proxy-key' }, dispatcher)).status, 401);

  // Removed: with its callers; readiness no longer lists it.
  writeConfig(configPath, settings([...WRITERS, ...INVOICING], { invoicing: CREDENTIALS.invoicing }));
  assert.equal((await reloader.reload('SIGHUP')).outcome, 'success');
  assert.equal(proxy.app.tokens.source('reporting-ro'), undefined);
  assert.equal((await call(REPORTING[0]!)).status, 401);
  assert.deepEqual(Object.keys((await readiness(proxy.url, dispatcher)).credentials), ['default', 'invoicing']);
  assert.equal((await call(INVOICING[0]!)).userId, IDENTITY.invoicing.userId);
});
