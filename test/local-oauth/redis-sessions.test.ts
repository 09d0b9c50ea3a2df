/**
 * Local sessions in a real redis-server, each "replica" a LocalSessions on its own RedisHome (its
 * own two connections), without HTTP: a token from one replica found by the others, logout and
 * rotation heard everywhere, a refresh token spent once under a race, the limits for the fleet,
 * nothing readable in Redis, and an outage in the middle (kill, restart empty) that loses nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { LocalSessions } from '../../src/local-oauth/local-sessions.js';
import { RedisSessionBook } from '../../src/local-oauth/sessions/redis-book.js';
import type { SessionChange } from '../../src/local-oauth/sessions/session-book.js';
import { tokenDigest } from '../../src/local-oauth/sessions/token-digest.js';
import { RedisHome } from '../../src/shared-state/redis-home.js';
import { adminClient, needRedis, startRedis } from '../support/redis-server.js';
import { redisContents } from '../support/redis-contents.js';
import { until } from '../support/wait.js';

const KEY = randomBytes(32);

/** The replicas' wall clock: each reading is a millisecond later, so "least recently used" never ties. */
const clock = { now: Date.now() };
const now = (): number => ++clock.now;

function replica(t: TestContext, url: string, limits = { maxTotal: 100, maxPerCaller: 100 }): { sessions: LocalSessions; home: RedisHome } {
  const logger = pino({ level: 'silent' });
  const home = new RedisHome({ url, commandTimeoutMs: 500, logger });
  const book = new RedisSessionBook({ home, limits, cacheMax: 1000, prefix: 'test', key: KEY, logger, now });
  const sessions = new LocalSessions(book, { accessTtlMs: 60_000, refreshTtlMs: 600_000, digest: tokenDigest(KEY), now });
  t.after(async () => {
    await sessions.close();
    await home.close();
  });
  return { sessions, home };
}

/** What this replica says about a token once it has asked if it had to. */
async function known(sessions: LocalSessions, token: string): Promise<string | null> {
  await sessions.lookup(token);
  const session = sessions.authenticate(token);
  return session === undefined || session === null ? null : session.caller;
}

async function fleet(t: TestContext, count: number, limits?: { maxTotal: number; maxPerCaller: number }) {
  if (!needRedis(t)) return undefined;
  const redis = await startRedis(t);
  const replicas = Array.from({ length: count }, () => replica(t, redis.url, limits));
  await until('every replica connected', () => replicas.every((r) => r.home.usable()));
  return { redis, replicas: replicas.map((r) => r.sessions), homes: replicas.map((r) => r.home) };
}

test('a token from one replica works on the others; logout and rotation are heard by all', async (t) => {
  const f = await fleet(t, 3);
  if (!f) return;
  const [a, b, c] = f.replicas as [LocalSessions, LocalSessions, LocalSessions];
  const issued = await a.issue('tool', true);
  assert.equal(a.authenticate(issued.accessToken)?.caller, 'tool', 'the issuing replica knows it without asking');
  assert.equal(b.authenticate(issued.accessToken), undefined, 'another replica has to ask once');
  assert.equal(await known(b, issued.accessToken), 'tool');
  assert.equal(await known(c, issued.accessToken), 'tool');
  assert.equal(b.lookup(issued.accessToken), undefined, 'then it knows without asking');

  const rotated = await b.refresh(String(issued.refreshToken), 'tool', true);
  assert.ok(rotated);
  await until('the rotation heard everywhere', () => [a, c].every((r) => r.authenticate(issued.accessToken) === null));
  assert.equal(await known(c, rotated.accessToken), 'tool');

  assert.ok(await c.logout(rotated.accessToken));
  await until('the logout heard everywhere', () => [a, b].every((r) => r.authenticate(rotated.accessToken) === null));
  await assert.rejects(a.refresh(String(rotated.refreshToken), 'tool', true), /refresh token is invalid/);
});

test('ten replicas refreshing one refresh token at once: exactly one new pair', async (t) => {
  const f = await fleet(t, 10);
  if (!f) return;
  const issued = await f.replicas[0]!.issue('tool', true);
  const results = await Promise.allSettled(f.replicas.map((r) => r.refresh(String(issued.refreshToken), 'tool', true)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
});

test('the limits hold for the fleet: the caller\'s least recently used session, then the caller holding the most', async (t) => {
  const f = await fleet(t, 2, { maxTotal: 5, maxPerCaller: 4 });
  if (!f) return;
  const [a, b] = f.replicas as [LocalSessions, LocalSessions];
  const tool = [];
  for (let i = 0; i < 5; i++) tool.push(await (i % 2 === 0 ? a : b).issue('tool', false));
  assert.equal(await known(a, tool[0]!.accessToken), null, 'the fifth login evicted the first');
  // Redis hears of a use when a replica asks (a first use there, or a revalidation): a has not seen it.
  assert.equal(await known(a, tool[1]!.accessToken), 'tool', 'a use makes the second the most recently used');
  const other = [await b.issue('other', false), await a.issue('other', false)];
  assert.equal(await known(b, tool[2]!.accessToken), null, 'past 5 in all, the caller holding the most lost its least recently used');
  for (const s of [tool[1]!, tool[3]!, tool[4]!, ...other]) assert.ok(await known(a, s.accessToken) && await known(b, s.accessToken));
  assert.deepEqual(Object.fromEntries(await a.sessionsByCaller()), { tool: 3, other: 2 });
});

test('Redis holds digests only: no token, not even its plain SHA-256, and not the key', async (t) => {
  const f = await fleet(t, 2);
  if (!f) return;
  const issued = [await f.replicas[0]!.issue('tool', true), await f.replicas[1]!.issue('tool', false)];
  await f.replicas[1]!.refresh(String(issued[0]!.refreshToken), 'tool', true);
  const text = await redisContents(adminClient(t, f.redis.url));
  assert.ok(text.includes(':s:'), 'the sessions are there');
  const sha = (v: string) => createHash('sha256').update(v).digest('base64url');
  for (const s of issued) {
    for (const token of [s.accessToken, s.refreshToken].filter((v): v is string => v !== undefined)) {
      assert.ok(!text.includes(token) && !text.includes(token.slice(5, 20)), 'a token');
      assert.ok(!text.includes(sha(token)), 'a plain digest, which anyone could match to a token');
    }
  }
  assert.ok(!text.includes(KEY.toString('hex')) && !text.includes(KEY.toString('base64')));
});

test('Redis killed and restarted empty: seen sessions keep working, new logins are served, then shared again', async (t) => {
  const f = await fleet(t, 3);
  if (!f) return;
  const [a, b, c] = f.replicas as [LocalSessions, LocalSessions, LocalSessions];
  const before = await a.issue('tool', true);
  const loggedOutDuringOutage = await a.issue('tool', false);
  for (const r of [a, b]) for (const s of [before, loggedOutDuringOutage]) assert.equal(await known(r, s.accessToken), 'tool');

  await f.redis.kill();
  await until('the replicas to notice', () => f.homes.every((h) => !h.usable()));
  assert.equal(await known(b, before.accessToken), 'tool', 'a session seen before the outage keeps working');
  const during = await b.issue('tool', true);
  assert.equal(await known(b, during.accessToken), 'tool', 'a login during the outage is served by its replica');
  assert.ok(await b.logout(loggedOutDuringOutage.accessToken));
  await assert.rejects(a.refresh(String(before.refreshToken), 'tool', true), /refresh token is invalid/, 'a shared refresh token is not spent without Redis');

  await f.redis.start();
  await until('every replica to share again', () => f.homes.every((h) => h.usable()));
  await until('the outage login shared with the others', async () => (await known(c, during.accessToken)) === 'tool');
  await until('the outage logout replayed for the others', async () => (await known(a, loggedOutDuringOutage.accessToken)) === null && (await known(c, loggedOutDuringOutage.accessToken)) === null);
  assert.equal(await known(c, before.accessToken), 'tool', 'Redis lost its data: the replicas put back the sessions they had seen');
  assert.ok(await c.refresh(String(during.refreshToken), 'tool', true), 'the outage session\'s refresh token is a fleet one now');
});

test('a reconnection that kept Redis\'s data resyncs once: one reset announced, not one per connection event', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const logger = pino({ level: 'silent' });
  const home = new RedisHome({ url: redis.url, commandTimeoutMs: 500, logger });
  const book = new RedisSessionBook({ home, limits: { maxTotal: 100, maxPerCaller: 100 }, cacheMax: 1000, prefix: 'test', key: KEY, logger, now });
  t.after(async () => {
    await book.close();
    await home.close();
  });
  const resets: SessionChange[] = [];
  book.onChange((change) => { if ('reset' in change) resets.push(change); });
  // The resync in flight, if any (private: the test waits for it to settle instead of sleeping).
  const resyncing = (): unknown => (book as unknown as { resyncing: Promise<void> | undefined }).resyncing;
  await until('the first sync', () => book.epoch !== undefined && resyncing() === undefined);

  // Redis keeps its data; only this replica's connections drop ('up', then 'ready', on reconnecting).
  const back = once(home, 'up');
  await adminClient(t, redis.url).client('KILL', 'TYPE', 'normal');
  await back;
  await until('the resync after the reconnection', () => resets.length > 0 && resyncing() === undefined);
  assert.equal(resets.length, 1);
});
