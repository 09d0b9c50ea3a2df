/**
 * Where local sessions live, without HTTP: the cache a worker or a Redis replica keeps of the
 * sessions it has seen (single flight, stale while revalidating, tombstones, outage), and the
 * PROXY_WORKERS book over an in-memory IPC channel to a primary that keeps a MemorySessionBook.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LocalSessions } from '../../src/local-oauth/local-sessions.js';
import { MemorySessionBook } from '../../src/local-oauth/sessions/memory-book.js';
import { PrimarySessionBook, sessionService, SESSIONS_SERVICE } from '../../src/local-oauth/sessions/primary-book.js';
import type { SessionRecord } from '../../src/local-oauth/sessions/session-book.js';
import { SessionCache } from '../../src/local-oauth/sessions/session-cache.js';
import { PrimaryLink, PrimaryServices, type PrimaryEnd } from '../../src/shared-state/primary-link.js';

const session = (n: number): SessionRecord => ({
  id: `s${n}`, caller: 'tool', issuedAt: 0, accessDigest: `d${n}`, accessExpiresAt: Date.now() + 60_000, forgetAt: Date.now() + 120_000,
});

/** A load function that counts calls and answers from `known`, or fails while `down`. */
function remote(known: Map<string, SessionRecord>) {
  const state = { calls: 0, down: false, gate: undefined as Promise<void> | undefined };
  const load = async (digest: string): Promise<SessionRecord | null> => {
    state.calls += 1;
    if (state.gate !== undefined) await state.gate;
    if (state.down) throw new Error('down');
    return known.get(digest) ?? null;
  };
  return { state, load };
}

describe('SessionCache', () => {
  test('a hundred lookups of a new token ask once; then it is known without asking', async () => {
    const { state, load } = remote(new Map([['d1', session(1)]]));
    const cache = new SessionCache({ max: 100, load });
    assert.equal(cache.peek('d1'), undefined, 'never seen: ask');
    const found = await Promise.all(Array.from({ length: 100 }, () => cache.find('d1')));
    assert.equal(state.calls, 1);
    assert.ok(found.every((s) => s?.id === 's1'));
    assert.equal(cache.peek('d1')?.id, 's1');
    assert.equal(state.calls, 1);
  });

  test('an unknown token is believed unknown for a moment, then asked again', async () => {
    const clock = { now: 1_000 }; // lru-cache reads a start of 0 as "no TTL"
    const { state, load } = remote(new Map());
    const cache = new SessionCache({ max: 100, load, now: () => clock.now });
    assert.equal(await cache.find('nope'), null);
    assert.equal(cache.peek('nope'), null);
    clock.now += 2_001;
    assert.equal(cache.peek('nope'), undefined, 'asked again after the negative TTL');
    assert.equal(await cache.find('nope'), null);
    assert.equal(state.calls, 2);
  });

  test('a stale copy is served while it is checked again in the background; an ended one is dropped by the check', async () => {
    const clock = { now: 1_000 }; // lru-cache reads a start of 0 as "no TTL"
    const known = new Map([['d1', session(1)]]);
    const { state, load } = remote(known);
    const cache = new SessionCache({ max: 100, load, now: () => clock.now, revalidateMs: 1_000 });
    await cache.find('d1');
    clock.now += 1_001;
    known.delete('d1'); // ended elsewhere, its announcement lost
    assert.equal(cache.peek('d1')?.id, 's1', 'served from the stale copy, without waiting');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(state.calls, 2, 'checked again');
    assert.equal(cache.peek('d1'), null, 'refused once the check said so');
  });

  test('ended() refuses at once, even with a question in flight', async () => {
    let open: () => void = () => undefined;
    const { state, load } = remote(new Map([['d1', session(1)]]));
    state.gate = new Promise((resolve) => { open = resolve; });
    const cache = new SessionCache({ max: 100, load });
    const pending = cache.find('d1');
    cache.ended(['d1']);
    open();
    await pending;
    assert.equal(cache.peek('d1'), null, 'the answer of the question asked before the logout is dropped');
  });

  test('while the remote cannot answer, the copies seen stay and unknown tokens are unknown', async () => {
    const clock = { now: 1_000 }; // lru-cache reads a start of 0 as "no TTL"
    const { state, load } = remote(new Map([['d1', session(1)]]));
    const cache = new SessionCache({ max: 100, load, now: () => clock.now, revalidateMs: 1_000 });
    await cache.find('d1');
    state.down = true;
    clock.now += 5_000;
    assert.equal((await cache.find('d1'))?.id, 's1', 'kept when the check fails');
    assert.equal(cache.peek('d1')?.id, 's1');
    assert.equal(await cache.find('d2'), null);
    assert.deepEqual(cache.sessions().map((s) => s.id), ['s1']);
  });
});

/** One primary (a MemorySessionBook behind the sessions service) and `count` workers, over synchronous in-memory channels. */
function group(count: number, limits = { maxTotal: 100, maxPerCaller: 100 }) {
  const services = new PrimaryServices();
  const primaryBook = new MemorySessionBook(limits);
  services.serve(SESSIONS_SERVICE, sessionService(primaryBook, (change) => services.push(SESSIONS_SERVICE, change)));
  const workers = Array.from({ length: count }, () => {
    let toWorker: (message: unknown) => void = () => undefined;
    let toPrimary: (message: unknown) => void = () => undefined;
    const link = new PrimaryLink({ send: (m) => toPrimary(m), onMessage: (l) => { toWorker = l; } }, 1000);
    const end: PrimaryEnd = { send: (m) => toWorker(m), onMessage: (l) => { toPrimary = l; } };
    services.attach(end);
    return new LocalSessions(new PrimarySessionBook(link, 1000), { accessTtlMs: 60_000, refreshTtlMs: 600_000 });
  });
  return { primaryBook, workers };
}

describe('PROXY_WORKERS: sessions in the primary', () => {
  test('a token issued by one worker is looked up once by another, then known', async () => {
    const { workers: [a, b] } = group(2);
    const issued = await a!.issue('tool', false);
    assert.equal(a!.authenticate(issued.accessToken)?.caller, 'tool', 'the issuing worker knows it at once');
    assert.equal(b!.authenticate(issued.accessToken), undefined, 'the other one has to ask');
    await b!.lookup(issued.accessToken);
    assert.equal(b!.authenticate(issued.accessToken)?.caller, 'tool');
    assert.equal(b!.lookup(issued.accessToken), undefined, 'then it answers without asking');
  });

  test('a logout at one worker is refused at once by the others', async () => {
    const { workers: [a, b, c] } = group(3);
    const issued = await a!.issue('tool', true);
    await Promise.all([b!.lookup(issued.accessToken), c!.lookup(issued.accessToken)]);
    assert.ok(await c!.logout(issued.accessToken));
    for (const worker of [a!, b!, c!]) assert.equal(worker.authenticate(issued.accessToken), null);
    await assert.rejects(a!.refresh(String(issued.refreshToken), 'tool', true), /refresh token is invalid/);
  });

  test('a refresh token is spent once for the group; the old access token is refused everywhere', async () => {
    const { workers: [a, b] } = group(2);
    const issued = await a!.issue('tool', true);
    await b!.lookup(issued.accessToken);
    const results = await Promise.allSettled([a!.refresh(String(issued.refreshToken), 'tool', true), b!.refresh(String(issued.refreshToken), 'tool', true)]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(a!.authenticate(issued.accessToken), null);
    assert.equal(b!.authenticate(issued.accessToken), null);
  });

  test('the per-caller limit counts for the group, and evictions reach every worker', async () => {
    const { workers: [a, b] } = group(2, { maxTotal: 100, maxPerCaller: 2 });
    const first = await a!.issue('tool', false);
    await b!.lookup(first.accessToken);
    await b!.issue('tool', false);
    await a!.issue('tool', false);
    assert.equal(a!.authenticate(first.accessToken), null);
    assert.equal(b!.authenticate(first.accessToken), null);
    assert.deepEqual(Object.fromEntries(await b!.sessionsByCaller()), { tool: 2 });
  });
});
