/**
 * Units of the legacy OAuth support: caller OAuth fields in PROXY_CLIENTS, the local token store
 * (fake clock: expiry, rotation, revocation, bounded memory) and Slim-style body parsing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { OAuthClientRegistry } from '../../src/local-oauth/client-registry.js';
import { MemorySessionBook } from '../../src/local-oauth/sessions/memory-book.js';
import { memorySessions } from '../support/local-sessions.js';
import { localTokenResolver } from '../../src/local-oauth/token-resolver.js';
import { OAuthError } from '../../src/local-oauth/responses.js';
import { basicCredentials, parseTokenBody } from '../../src/local-oauth/token-request.js';
import { slimMediaType } from '../../src/security/slim-media-type.js';
import { Authenticator } from '../../src/security/auth.js';
import { InvalidClientsError, parseClients } from '../../src/config/callers.js';
import { CallerRegistry } from '../../src/security/caller-registry.js';

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' });
};
const SECRET = 'client-secret-0123456789';

describe('PROXY_CLIENTS OAuth fields', () => {
  test('a caller may have OAuth credentials instead of a key', () => {
    const [caller] = parseClients(JSON.stringify([{ name: 'tool', clientId: 'tool-id', clientSecret: SECRET, username: 'jane', password: 'pw' }]), noFiles);
    assert.equal(caller?.keyDigest, undefined);
    assert.equal(caller?.oauth?.clientId, 'tool-id');
    assert.equal(caller?.oauth?.username, 'jane');
    assert.deepEqual(caller?.oauth?.clientSecretDigest, createHash('sha256').update(SECRET).digest());
    // A keyless caller never matches a presented key, even an empty one.
    assert.equal(new CallerRegistry([caller!]).identify(''), undefined);
  });

  test('next to a key, with snake_case names, a file or SuiteCRM\'s sha256 of the secret', () => {
    const digest = createHash('sha256').update(SECRET).digest('hex');
    const callers = parseClients(JSON.stringify({
      a: { key: 'a'.repeat(32), client_id: 'a-id', client_secret_sha256: digest },
      b: { clientId: 'b-id', clientSecretFile: '/run/secret' },
    }), (path) => (path === '/run/secret' ? `${SECRET}\n` : noFiles(path)));
    assert.ok(callers[0]?.keyDigest);
    assert.deepEqual(callers[0]?.oauth?.clientSecretDigest.toString('hex'), digest);
    assert.deepEqual(callers[1]?.oauth?.clientSecretDigest.toString('hex'), digest);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['no key and no OAuth credentials', { name: 'x' }, /needs exactly one of key, keyFile or keySha256 \(or clientId and clientSecret\)/],
    ['a client id without a secret', { name: 'x', clientId: 'id' }, /clientId needs clientSecret/],
    ['a short secret', { name: 'x', clientId: 'id', clientSecret: 'short' }, /clientSecret must be a string of at least 16/],
    ['two secret forms', { name: 'x', clientId: 'id', clientSecret: SECRET, clientSecretSha256: 'a'.repeat(64) }, /only one of clientSecret/],
    ['a bad digest', { name: 'x', clientId: 'id', clientSecretSha256: 'xyz' }, /clientSecretSha256 must be 64 hex digits/],
    ['a username without a password', { name: 'x', clientId: 'id', clientSecret: SECRET, username: 'jane' }, /username and password go together/],
    ['a secret without a client id', { name: 'x', key: 'k'.repeat(32), clientSecret: SECRET }, /need a clientId/],
    ['a client id with a colon', { name: 'x', clientId: 'a:b', clientSecret: SECRET }, /clientId must be/],
    ['an unreadable secret file', { name: 'x', clientId: 'id', clientSecretFile: '/nope' }, /cannot read \/nope \(ENOENT\)/],
  ];
  for (const [what, entry, message] of invalid) {
    test(`refused: ${what}, naming the caller and never the value`, () => {
      assert.throws(() => parseClients(JSON.stringify([entry]), noFiles), (err: Error) => {
        assert.ok(err instanceof InvalidClientsError);
        assert.match(err.message, message);
        assert.match(err.message, /caller "x"/);
        assert.ok(!err.message.includes(SECRET));
        return true;
      });
    });
  }

  test('two callers with the same client id are refused', () => {
    const entries = [{ name: 'a', clientId: 'same', clientSecret: SECRET }, { name: 'b', clientId: 'same', clientSecret: `${SECRET}x` }];
    assert.throws(() => parseClients(JSON.stringify(entries), noFiles), /callers "a" and "b" have the same clientId/);
  });

  test('secrets, usernames and passwords are compared by digest', () => {
    const [spec] = parseClients(JSON.stringify([{ name: 'x', clientId: 'id', clientSecret: SECRET, username: 'jane', password: 'pw' }]), noFiles);
    const caller = { name: 'x', oauth: spec!.oauth! };
    assert.ok(OAuthClientRegistry.secretMatches(caller, SECRET));
    assert.ok(!OAuthClientRegistry.secretMatches(caller, `${SECRET} `));
    assert.ok(!OAuthClientRegistry.secretMatches(caller, undefined));
    assert.ok(OAuthClientRegistry.usernameMatches(caller, 'jane'));
    assert.ok(!OAuthClientRegistry.usernameMatches(caller, 'Jane'));
    assert.ok(OAuthClientRegistry.passwordMatches(caller, 'pw'));
    assert.ok(!OAuthClientRegistry.passwordMatches(caller, 'pw2'));
  });
});

describe('LocalSessions (fake clock)', () => {
  const make = (maxSessions = 100) => {
    const clock = { now: 1_000_000 };
    const store = memorySessions({ accessTtlMs: 60_000, refreshTtlMs: 600_000, maxSessions, now: () => clock.now });
    return { clock, store };
  };

  const refusal = (hint: string) => (err: unknown) => err instanceof OAuthError && err.status === 401 && err.hint === hint;

  test('an access token authenticates its caller until its TTL, without waiting (one process)', async () => {
    const { clock, store } = make();
    const issued = await store.issue('tool', false);
    assert.equal(issued.refreshToken, undefined);
    assert.equal(issued.expiresInSeconds, 60);
    assert.equal(store.lookup(issued.accessToken), undefined, 'this process knows every session: nothing to look up');
    assert.equal(store.authenticate(issued.accessToken)?.caller, 'tool');
    clock.now += 59_999;
    assert.ok(store.authenticate(issued.accessToken));
    clock.now += 1;
    assert.equal(store.authenticate(issued.accessToken), null);
  });

  test('tokens are random, and only their digests are stored', async () => {
    const { store } = make();
    const a = await store.issue('tool', true);
    const b = await store.issue('tool', true);
    assert.notEqual(a.accessToken, b.accessToken);
    assert.ok(!JSON.stringify(a.session).includes(a.accessToken));
    assert.ok(!JSON.stringify(a.session).includes(String(a.refreshToken)));
  });

  test('refresh rotates: old access and refresh tokens stop working; a refresh token is spent once', async () => {
    const { store } = make();
    const first = await store.issue('tool', true);
    const second = await store.refresh(String(first.refreshToken), 'tool', true);
    assert.equal(store.authenticate(first.accessToken), null);
    assert.ok(second !== undefined && store.authenticate(second.accessToken));
    await assert.rejects(store.refresh(String(first.refreshToken), 'tool', true), refusal('Token has been revoked'));
  });

  test('a refresh that is only checked (the request fails on its scope) leaves the tokens working', async () => {
    const { store } = make();
    const first = await store.issue('tool', true);
    assert.equal(await store.refresh(String(first.refreshToken), 'tool', false), undefined);
    assert.ok(store.authenticate(first.accessToken));
    assert.ok(await store.refresh(String(first.refreshToken), 'tool', true));
  });

  test('refresh refusals: not ours, another caller\'s, expired', async () => {
    const { clock, store } = make();
    const issued = await store.issue('tool', true);
    await assert.rejects(store.refresh('def50200', 'tool', true), refusal('Cannot decrypt the refresh token'));
    await assert.rejects(store.refresh(String(issued.refreshToken), 'other', true), refusal('Token is not linked to client'));
    clock.now += 600_000;
    await assert.rejects(store.refresh(String(issued.refreshToken), 'tool', true), refusal('Token has expired'));
    await assert.rejects(store.refresh(String(issued.refreshToken), 'tool', true), refusal('Token has been revoked'), 'and it is gone');
  });

  test('logout ends the access token and its refresh token', async () => {
    const { store } = make();
    const issued = await store.issue('tool', true);
    assert.equal((await store.logout(issued.accessToken))?.id, issued.session.id);
    assert.equal(store.authenticate(issued.accessToken), null);
    assert.equal(await store.logout(issued.accessToken), undefined, 'nothing left to end');
    await assert.rejects(store.refresh(String(issued.refreshToken), 'tool', true), refusal('Token has been revoked'));
  });

  test('memory is bounded: past maxSessions the least recently used session is forgotten, and announced', async () => {
    const clock = { now: 1_000_000 };
    const book = new MemorySessionBook({ maxTotal: 3, maxPerCaller: 3 }, () => clock.now);
    const ended: string[] = [];
    book.onChange((change) => { if ('ended' in change) ended.push(...change.ended); });
    const sessions = Array.from({ length: 5 }, () => record(clock.now));
    for (const session of sessions) await book.add(session);
    assert.equal(book.size, 3);
    assert.deepEqual(ended, [sessions[0]!.accessDigest, sessions[1]!.accessDigest], 'the two evicted sessions are announced to caches elsewhere');
    assert.equal(book.peek(sessions[0]!.accessDigest), null);
    assert.equal(book.peek(sessions[4]!.accessDigest)?.id, sessions[4]!.id);
  });
});

let recordCount = 0;
/** A session record as LocalSessions makes them (digests only). */
function record(now: number, caller = 'tool') {
  recordCount += 1;
  return { id: `s${recordCount}`, caller, issuedAt: now, accessDigest: `a${recordCount}`, accessExpiresAt: now + 60_000, forgetAt: now + 120_000 };
}

describe('token request bodies, as Slim parses them', () => {
  test('media types', () => {
    assert.equal(slimMediaType('Application/JSON; charset=utf-8'), 'application/json');
    assert.equal(slimMediaType('application/vnd.api+json'), 'application/json');
    assert.equal(slimMediaType('application/x-www-form-urlencoded,foo'), 'application/x-www-form-urlencoded');
    assert.equal(slimMediaType('text/plain'), 'text/plain');
    assert.equal(slimMediaType(undefined), '');
  });

  test('bodies: form (last duplicate wins), JSON objects, nothing for other types', async () => {
    assert.deepEqual(await parseTokenBody('application/x-www-form-urlencoded', Buffer.from('a=1&a=2&b=x+y')), { a: '2', b: 'x y' });
    assert.deepEqual(await parseTokenBody('application/json', Buffer.from('{"a":1}')), { a: 1 });
    assert.equal(await parseTokenBody('application/json', Buffer.from('{broken')), undefined);
    assert.equal(await parseTokenBody('text/plain', Buffer.from('a=1')), undefined);
    assert.equal(await parseTokenBody('application/json', Buffer.alloc(0)), undefined);
  });

  test('Basic credentials: league\'s rules', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    assert.deepEqual(basicCredentials(`Basic ${b64('id:se:cret')}`), { user: 'id', password: 'se:cret' });
    assert.equal(basicCredentials(`basic ${b64('id:secret')}`), undefined, 'the scheme is case-sensitive');
    assert.equal(basicCredentials(`Basic ${b64('no-colon')}`), undefined);
    assert.equal(basicCredentials(undefined), undefined);
  });
});

describe('Authenticator with local tokens', () => {
  const store = memorySessions({ accessTtlMs: 60_000, refreshTtlMs: 60_000, maxSessions: 10 });
  const request = (authorization: string) => ({
    headers: { authorization },
    ip: '127.0.0.1',
    log: { warn: () => undefined },
  }) as unknown as FastifyRequest;
  const lookalikeKey = `spat_${'k'.repeat(40)}`;
  const callers = parseClients(JSON.stringify([{ name: 'tool', clientId: 'tool-id', clientSecret: SECRET }, { name: 'odd', key: lookalikeKey }]), noFiles);
  const auth = new Authenticator(callers, false, localTokenResolver(store));

  test('a live local token is its caller; a stale one gets SuiteCRM\'s 401; a key shaped like one is still a key', async () => {
    const issued = await store.issue('tool', false);
    assert.equal(auth.authenticate(request(`Bearer ${issued.accessToken}`)).name, 'tool');
    await store.logout(issued.accessToken);
    assert.throws(() => auth.authenticate(request(`Bearer ${issued.accessToken}`)), (err) => err instanceof OAuthError && err.errorType === 'access_denied');
    assert.equal(auth.authenticate(request(`Bearer ${lookalikeKey}`)).name, 'odd');
    assert.throws(() => auth.authenticate(request('Bearer not-a-key-0123456789')), (err) => (err as { code?: string }).code === 'UNAUTHENTICATED');
  });

  test('without PROXY_CLIENTS: anything is anonymous, except a stale local token', () => {
    const open = new Authenticator(undefined, false, localTokenResolver(store));
    assert.equal(open.authenticate(request('Bearer whatever')).name, 'anonymous');
    assert.throws(() => open.authenticate(request(`Bearer spat_${'x'.repeat(43)}`)), OAuthError);
  });
});
