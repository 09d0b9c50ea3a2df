/**
 * How the TokenManager uses a TokenStore (a scripted one here; the Redis store has its own
 * integration tests): renewals go through the store, the store's newest refresh token is used,
 * 401s invalidate by generation, an unusable store means renewing alone, announcements adopt.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { TokenRequestError, type GrantRequest, type Token } from '../../src/suitecrm-token/grant.js';
import { TokenManager } from '../../src/suitecrm-token/token-manager.js';
import { TokenStoreUnavailableError, type GrantFunction, type StoredToken, type TokenStore } from '../../src/suitecrm-token/token-store.js';

const clock = 1_000_000;

function token(name: string, refreshToken?: string): Token {
  return { accessToken: name, lifetimeMs: 3_600_000, expiresInReported: true, receivedAt: clock, grant: 'password', refreshToken, authorization: `Bearer ${name}` };
}

/** A store whose next renew() answers are scripted; unscripted ones call the grant. */
class ScriptedStore implements TokenStore {
  readonly kind = 'scripted';
  readonly renewCalls: Array<number | undefined> = [];
  readonly invalidated: number[] = [];
  readonly next: Array<(grant: GrantFunction) => Promise<StoredToken>> = [];
  latestToken: StoredToken | undefined;
  private listener: ((generation: number) => void) | undefined;
  private generation = 100;
  shared(): boolean { return true; }
  async renew(known: number | undefined, grant: GrantFunction): Promise<StoredToken> {
    this.renewCalls.push(known);
    const scripted = this.next.shift();
    if (scripted) return scripted(grant);
    this.generation += 1;
    return { token: await grant(undefined), generation: this.generation, source: 'granted' };
  }
  invalidate(generation: number): void { this.invalidated.push(generation); }
  async latest(): Promise<StoredToken | undefined> { return this.latestToken; }
  onRenewed(listener: (generation: number) => void): void { this.listener = listener; }
  announce(generation: number): void { this.listener?.(generation); }
  async close(): Promise<void> { /* nothing */ }
}

function setup(grantType: 'password' | 'client_credentials' = 'password') {
  const store = new ScriptedStore();
  const requests: GrantRequest[] = [];
  const hooks = { fallbacks: [] as string[], adopted: 0 };
  /** Refresh tokens SuiteCRM considers spent (rotated away). */
  const spent = new Set<string>();
  let issued = 0;
  const manager = new TokenManager({
    grantType, refreshMarginMs: 60_000, tokenRetryMaxMs: 30_000, credentialsRetryMs: 60_000, credentialKey: 'k',
    logger: pino({ level: 'silent' }), now: () => clock, random: () => 0.5, store,
    hooks: { tokenStoreFallback: (reason) => hooks.fallbacks.push(reason), tokenAdopted: () => { hooks.adopted += 1; } },
    fetchToken: async (request) => {
      requests.push(request);
      if (request.grant === 'refresh_token' && spent.has(request.refreshToken ?? '')) {
        throw new TokenRequestError('refresh_rejected', 'invalid_request', 'Token has been revoked', 401);
      }
      issued += 1;
      return token(`granted-${issued}`, `refresh-${issued}`);
    },
  });
  return { manager, store, requests, hooks, spent };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

test('a token adopted from the store is served without a grant and keeps its generation', async () => {
  const { manager, store, requests, hooks } = setup();
  store.next.push(async () => ({ token: token('shared-7', 'refresh-shared'), generation: 7, source: 'adopted' }));
  const got = await manager.get();
  assert.equal(got.accessToken, 'shared-7');
  assert.equal(got.generation, 7);
  assert.equal(requests.length, 0);
  assert.equal(hooks.adopted, 1);
  assert.deepEqual(store.renewCalls, [0]);
  assert.equal(manager.status().tokenStore, 'scripted');
});

test('the next renewal names the generation it replaces and uses the newest refresh token of the store', async () => {
  const { manager, store, requests } = setup();
  store.next.push(async () => ({ token: token('shared-7', 'refresh-old'), generation: 7, source: 'adopted' }));
  const first = await manager.get();
  store.next.push(async (grant) => ({ token: await grant('refresh-newest'), generation: 8, source: 'granted' }));
  assert.equal(manager.rejected(first), true);
  const second = await manager.get('rejected_401');
  assert.deepEqual(store.renewCalls, [0, 7]);
  assert.deepEqual(requests[0], { grant: 'refresh_token', refreshToken: 'refresh-newest' });
  assert.equal(second.generation, 8);
});

test('a 401 invalidates the shared token by generation, once, and only while it is current', async () => {
  const { manager, store } = setup();
  const first = await manager.get();
  for (let i = 0; i < 20; i++) manager.rejected(first);
  assert.deepEqual(store.invalidated, [first.generation]);
  const second = await manager.get('rejected_401');
  manager.rejected(first); // a late 401 for the old token
  assert.deepEqual(store.invalidated, [first.generation]);
  assert.equal(manager.current()?.accessToken, second.accessToken);
});

test('an unusable store: the renewal runs alone, the fallback hook fires, requests are served', async () => {
  const { manager, store, requests, hooks } = setup('client_credentials');
  store.next.push(async () => { throw new TokenStoreUnavailableError('timeout', 'Redis is slow'); });
  const got = await manager.get();
  assert.equal(got.accessToken, 'granted-1');
  assert.equal(got.generation, undefined, 'not shared');
  assert.equal(requests.length, 1);
  assert.deepEqual(hooks.fallbacks, ['timeout']);
  assert.equal(manager.status().tokenStoreFallbacks, 1, 'also readable as a counter');
  // The unshared token is never invalidated in the store.
  manager.rejected(got);
  assert.deepEqual(store.invalidated, []);
  // The next renewal tries the store again.
  await manager.get('rejected_401');
  assert.equal(store.renewCalls.length, 2);
  assert.equal(hooks.fallbacks.length, 1);
});

test('an announced newer generation is adopted at once; an older one is ignored', async () => {
  const { manager, store, requests } = setup();
  await manager.get();
  store.latestToken = { token: token('pushed-200', 'refresh-pushed'), generation: 200, source: 'adopted' };
  store.announce(200);
  await flush(); await flush();
  assert.equal(manager.current()?.accessToken, 'pushed-200');
  store.latestToken = { token: token('stale-150'), generation: 150, source: 'adopted' };
  store.announce(150);
  await flush(); await flush();
  assert.equal(manager.current()?.accessToken, 'pushed-200');
  assert.equal(requests.length, 1);
});

test('after an outage the store\'s refresh token may be spent: our unshared newer one is tried before the full grant', async () => {
  const { manager, store, requests, spent } = setup();
  store.next.push(async () => { throw new TokenStoreUnavailableError('not_connected', 'Redis is down'); });
  const alone = await manager.get(); // renewed alone: password grant, refresh-1, never stored
  spent.add('refresh-in-store');
  store.next.push(async (grant) => ({ token: await grant('refresh-in-store'), generation: 300, source: 'granted' }));
  manager.rejected(alone);
  const renewed = await manager.get('rejected_401');
  assert.deepEqual(requests.map((r) => r.refreshToken ?? r.grant), ['password', 'refresh-in-store', 'refresh-1']);
  assert.equal(renewed.accessToken, 'granted-2');
});

test('a shared refresh token that lost to another replica is not retried: the store\'s newest one is used', async () => {
  const { manager, store, requests, spent } = setup();
  const first = await manager.get(); // shared (generation 101), refresh-1
  spent.add('refresh-newest');
  store.next.push(async (grant) => ({ token: await grant('refresh-newest'), generation: 400, source: 'granted' }));
  manager.rejected(first);
  await manager.get('rejected_401');
  assert.deepEqual(requests.map((r) => r.refreshToken ?? r.grant), ['password', 'refresh-newest', 'password'],
    'no second refresh with our own token: the store saw it, so it is older than the store\'s');
});
