/**
 * Issue 15, the pure logic: sessions bounded per caller (and in all, taken from the caller
 * holding the most), the failed-login throttle's keys and levels, the login rate limit and the
 * grants a caller may use. Fake clocks throughout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowedGrants, InvalidOAuthCredentialsError } from '../../src/config/oauth-credentials.js';
import { LocalSessions } from '../../src/local-oauth/local-sessions.js';
import { LoginRateLimit } from '../../src/local-oauth/login-rate-limit.js';
import { clientKey, LoginThrottle } from '../../src/local-oauth/login-throttle.js';
import { SessionTable, type TableSession } from '../../src/local-oauth/session-table.js';
import { MemoryCounters } from '../../src/shared-state/memory-counters.js';
import { parseClients } from '../../src/config/callers.js';

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' });
};

describe('SessionTable: per-caller and global bounds', () => {
  const make = (maxTotal: number, maxPerCaller: number) => {
    const dropped: string[] = [];
    const table = new SessionTable<TableSession>({ maxTotal, maxPerCaller }, (s) => dropped.push(s.id));
    let n = 0;
    const add = (caller: string, lifetimeMs = 1_000, now = 0): TableSession => {
      const session = { id: `${caller}-${n++}`, caller, forgetAt: now + lifetimeMs };
      table.add(session, lifetimeMs, now);
      return session;
    };
    return { table, dropped, add };
  };

  test('past its own bound a caller loses its own least recently used session, never another caller\'s', () => {
    const { table, dropped, add } = make(100, 3);
    add('b');
    const a = [add('a'), add('a'), add('a')];
    table.touch(a[0]!);
    for (let i = 0; i < 5; i++) add('a');
    assert.equal(dropped.length, 5);
    assert.ok(dropped.every((id) => id.startsWith('a-')), dropped.join(','));
    assert.deepEqual(dropped.slice(0, 3), [a[1]!.id, a[2]!.id, a[0]!.id], 'the touched session went after the untouched ones');
    assert.deepEqual(Object.fromEntries(table.countsByCaller(0)), { a: 3, b: 1 });
  });

  test('past the global bound the caller holding the most loses its least recently used session', () => {
    const { table, dropped, add } = make(5, 10);
    const b = [add('b'), add('b')];
    const a = [add('a'), add('a'), add('a')];
    add('c');
    assert.deepEqual(dropped, [a[0]!.id], 'a held 3, b 2: a pays');
    add('c');
    assert.deepEqual(dropped, [a[0]!.id, b[0]!.id], 'a and b hold 2 each: the first of them pays, c never');
    assert.equal(table.size, 5);
  });

  test('ended sessions leave in the order they end, one queue per lifetime', () => {
    const { table, dropped, add } = make(100, 100);
    const short = add('a', 1_000, 0);
    const long = add('a', 10_000, 0);
    add('b', 1_000, 500);
    assert.deepEqual(Object.fromEntries(table.countsByCaller(1_000)), { a: 1, b: 1 });
    assert.deepEqual(dropped, [short.id]);
    assert.deepEqual(Object.fromEntries(table.countsByCaller(10_000)), { a: 0, b: 0 });
    assert.ok(dropped.includes(long.id));
    assert.equal(table.size, 0);
  });

  test('remove forgets without reporting a drop', () => {
    const { table, dropped, add } = make(10, 10);
    const s = add('a');
    table.remove(s);
    table.remove(s);
    assert.equal(table.size, 0);
    assert.deepEqual(dropped, []);
  });
});

describe('LocalSessions with per-caller bounds (fake clock)', () => {
  test('one caller logging in 50 times keeps another caller\'s token alive; tokens of evicted sessions stop working', () => {
    const clock = { now: 1_000_000 };
    const store = new LocalSessions({ accessTtlMs: 60_000, refreshTtlMs: 600_000, maxSessions: 10, maxSessionsPerClient: 4, now: () => clock.now });
    const b = store.issue('b', true);
    const a = Array.from({ length: 50 }, () => store.issue('a', true));
    assert.ok(store.authenticate(b.accessToken), 'b still logged in');
    assert.equal(store.authenticate(a[0]!.accessToken), undefined);
    assert.throws(() => store.sessionForRefresh(String(a[0]!.refreshToken), 'a'), /refresh token is invalid/);
    assert.ok(store.authenticate(a[49]!.accessToken));
    assert.deepEqual(Object.fromEntries(store.sessionsByCaller()), { a: 4, b: 1 });
  });
});

describe('LoginThrottle: per (address, client id), and a per-address ceiling', () => {
  /** One failed login: counted, not blocked, settled as a failure. */
  const fail = async (throttle: LoginThrottle, address: string, clientId: unknown): Promise<void> => {
    const counted = await throttle.attempt(address, clientId);
    assert.equal(counted.blocked, undefined);
    await counted.settle(true);
  };
  const blocked = async (throttle: LoginThrottle, address: string, clientId: unknown) => (await throttle.attempt(address, clientId)).blocked;

  test('one client id blocked from an address leaves the others, until the ceiling', async () => {
    const clock = { now: 0 };
    const throttle = new LoginThrottle({ perClient: 3, perAddress: 5 }, new MemoryCounters(() => clock.now));
    for (let i = 0; i < 3; i++) await fail(throttle, '127.0.0.1', 'tool-a');
    assert.deepEqual(await blocked(throttle, '127.0.0.1', 'tool-a'), { scope: 'client', waitSeconds: 60 });
    assert.equal(await throttle.addressBlockedFor('127.0.0.1'), undefined, 'a blocked attempt is not a failure');
    await fail(throttle, '127.0.0.1', 'tool-b');
    assert.equal(await blocked(throttle, '10.0.0.2', 'tool-a'), undefined, 'another address is another key');
    await fail(throttle, '127.0.0.1', 'guess-2');
    assert.equal(await throttle.addressBlockedFor('127.0.0.1'), 60, 'five failures across client ids');
    assert.deepEqual(await blocked(throttle, '127.0.0.1', 'tool-c'), { scope: 'address', waitSeconds: 60 });
    clock.now += 30_500;
    assert.equal(await throttle.addressBlockedFor('127.0.0.1'), 30);
    clock.now += 29_500;
    assert.equal(await throttle.addressBlockedFor('127.0.0.1'), undefined, 'a new minute');
    assert.equal(await blocked(throttle, '127.0.0.1', 'tool-a'), undefined);
  });

  test('an attempt counts until it ends: concurrent guesses cannot all pass; right ones are taken back', async () => {
    const throttle = new LoginThrottle({ perClient: 3, perAddress: 100 }, new MemoryCounters(() => 0));
    const attempts = await Promise.all(Array.from({ length: 10 }, () => throttle.attempt('::1', 'tool')));
    assert.equal(attempts.filter((a) => a.blocked === undefined).length, 3, 'three in flight at once, the rest refused');
    for (const attempt of attempts) if (attempt.blocked === undefined) await attempt.settle(false);
    // The three were right after all: nothing stays counted.
    for (let i = 0; i < 3; i++) await fail(throttle, '::1', 'tool');
    assert.equal((await blocked(throttle, '::1', 'tool'))?.scope, 'client');
  });

  test('0 turns a level off', async () => {
    const throttle = new LoginThrottle({ perClient: 0, perAddress: 0 }, new MemoryCounters());
    for (let i = 0; i < 100; i++) await fail(throttle, '127.0.0.1', 'x');
    assert.equal(await blocked(throttle, '127.0.0.1', 'x'), undefined);
    assert.equal(await throttle.addressBlockedFor('127.0.0.1'), undefined);
  });

  test('keys: the address and a digest of the client id (never the id itself, which may be a swapped secret)', () => {
    assert.match(clientKey('::1', 'tool'), /^::1\|[\w-]{22}$/);
    assert.equal(clientKey('::1', 'tool'), clientKey('::1', 'tool'));
    assert.notEqual(clientKey('::1', 'tool'), clientKey('::1', 'tool2'));
    assert.notEqual(clientKey('::1', 42), clientKey('::1', '"42"'), 'a JSON id by its JSON text');
    assert.equal(clientKey('::1', 42), clientKey('::1', '42'));
    assert.equal(clientKey('::1', 'x'.repeat(10_000)).length, 4 + 22, 'one length whatever was sent');
  });
});

describe('LoginRateLimit: the caller\'s rateLimit, a bucket of its own', () => {
  test('burst, then the refill rate; callers without a limit are never refused', async () => {
    let now = 0;
    const counters = new MemoryCounters(() => now);
    const limit = new LoginRateLimit(counters);
    const tool = { name: 'a', oauth: parseClients(JSON.stringify([{ name: 'a', clientId: 'a', clientSecret: 's'.repeat(16) }]), noFiles)[0]!.oauth!, rateLimit: { perSecond: 1, burst: 2 } };
    assert.equal(await limit.take(tool), undefined);
    assert.equal(await limit.take(tool), undefined);
    assert.equal(await limit.take(tool), 1);
    assert.equal(counters.takeNow('request:a', 2, 2000).allowed, true, 'not the request bucket');
    now += 1_000;
    assert.equal(await limit.take(tool), undefined);
    const free = { ...tool, name: 'b', rateLimit: undefined };
    for (let i = 0; i < 100; i++) assert.equal(await limit.take(free), undefined);
  });
});

describe('grants a caller may use (SuiteCRM\'s allowed_grant_type)', () => {
  const sorted = (grants: ReadonlySet<string>) => [...grants].sort();

  test('defaults: password callers use password and refresh_token; the others client_credentials', () => {
    assert.deepEqual(sorted(allowedGrants('caller "x"', true, undefined)), ['password', 'refresh_token']);
    assert.deepEqual(sorted(allowedGrants('caller "x"', false, undefined)), ['client_credentials', 'refresh_token']);
  });

  test('"grants" lists them explicitly; refresh_token comes with password', () => {
    assert.deepEqual(sorted(allowedGrants('caller "x"', true, ['password', 'client_credentials'])), ['client_credentials', 'password', 'refresh_token']);
    assert.deepEqual(sorted(allowedGrants('caller "x"', false, ['client_credentials'])), ['client_credentials']);
  });

  const invalid: Array<[unknown, boolean, RegExp]> = [
    [['implicit'], false, /caller "x"\.grants: "implicit" is not a grant the local token endpoint knows \(client_credentials, password, refresh_token\)/],
    [[7], false, /caller "x"\.grants: number is not a grant/],
    [[], false, /caller "x"\.grants must be a non-empty array/],
    ['password', true, /caller "x"\.grants must be a non-empty array/],
    [['password'], false, /caller "x"\.grants lists password, which needs username and password/],
  ];
  for (const [listed, hasUser, message] of invalid) {
    test(`refused at start-up: ${JSON.stringify(listed)}`, () => {
      assert.throws(() => allowedGrants('caller "x"', hasUser, listed), (err: Error) => err instanceof InvalidOAuthCredentialsError && message.test(err.message));
    });
  }

  test('through PROXY_CLIENTS, naming the caller and the field', () => {
    const entry = { name: 'tool', clientId: 'tool', clientSecret: 's'.repeat(16), grants: ['client-credentials'] };
    assert.throws(() => parseClients(JSON.stringify([entry]), noFiles), /caller "tool"\.grants: "client-credentials" is not a grant/);
    const ok = parseClients(JSON.stringify([{ ...entry, username: 'u', password: 'p', grants: ['client_credentials', 'password'] }]), noFiles);
    assert.ok(ok[0]?.oauth?.grants.has('client_credentials'));
  });
});
