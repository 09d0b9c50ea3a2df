/**
 * A token's whole life, per credential, under a mixed load (issue #13): with a fake clock each
 * credential refreshes ahead once on its own, and after every token died each one is renewed
 * (the password credential through its refresh token, then its grant) and its callers' requests
 * replayed; at every step every request reaches SuiteCRM with its caller's credential's token.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent } from 'undici';
import {
  assertLogNamesCredential, assertServedAsTheirCredential, assertTokensMatchCallers, credentialsEnv, mixedBurst, ONE_GRANT_EACH, parseJson,
  requestLines, startCredentialsDouble, tokenRequestsByClient,
} from '../support/credentials-fixture.js';
import { startProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

test('refresh ahead, then every token revoked: each credential renews alone, no request ever carries another credential\'s token', async (t) => {
  const fake = await startCredentialsDouble(t);
  let clock = Date.now();
  const proxy = await startProxy(fake.url, credentialsEnv(), { now: () => clock });
  const agent = new Agent({ connections: 64 });
  t.after(async () => { await proxy.close(); await agent.close(); });
  const urls = [proxy.url];

  assertServedAsTheirCredential(await mixedBurst(urls, 60, agent));
  assert.deepEqual(tokenRequestsByClient(fake), ONE_GRANT_EACH);

  // Inside every token's refresh margin: the burst is served with the tokens in hand while each
  // credential renews once in the background; the password credential uses its refresh token.
  clock += (3600 - 5 - 60 + 1) * 1000;
  const aheadFrom = fake.tokenRequests.length;
  assertServedAsTheirCredential(await mixedBurst(urls, 60, agent));
  await until('one refresh ahead per credential', () => Object.values(tokenRequestsByClient(fake, aheadFrom)).reduce((a, b) => a + b, 0) === 3, 5000);
  assert.deepEqual(tokenRequestsByClient(fake, aheadFrom), ONE_GRANT_EACH);
  assert.deepEqual(fake.tokenRequests.slice(aheadFrom).map((r) => r.grant).sort(), ['client_credentials', 'client_credentials', 'refresh_token']);

  // Every token dies at once (a database wipe): each credential replays its own callers' requests.
  fake.revokeAll();
  const replayFrom = fake.tokenRequests.length;
  assertServedAsTheirCredential(await mixedBurst(urls, 120, agent));
  const renewed = tokenRequestsByClient(fake, replayFrom);
  assert.deepEqual({ ...renewed, 'inv-client': Math.min(1, renewed['inv-client'] ?? 0) }, ONE_GRANT_EACH);
  assert.ok((renewed['inv-client'] ?? 0) <= 2, 'the password credential: its refresh token (revoked too), then its grant');
  assertTokensMatchCallers(fake);
  const lines = requestLines(proxy.logs.map(parseJson));
  assertLogNamesCredential(lines);
  assert.ok(lines.some((l) => l.replayed === true), 'requests that carried a revoked token were replayed');
});
