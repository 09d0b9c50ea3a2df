/**
 * What a replica does each time Redis can be used again (and once at the first connection), so
 * that an outage leaves no session behind:
 * - copies cached before are dropped: announcements of sessions that ended meanwhile were lost;
 *   each is asked for again at its next use (one round trip);
 * - unless Redis lost its data (its epoch key changed): then the copies are all the fleet has, and
 *   they are put back (only where absent), so the sessions seen keep working on every replica;
 * - sessions issued here while Redis was down are shared, so they work on every replica again;
 * - logouts of shared sessions made here meanwhile are replayed, so they hold everywhere.
 * Redis failing again midway leaves the rest for the next recovery.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { MemorySessionBook } from './memory-book.js';
import type { SessionChange, SessionRecord } from './session-book.js';
import type { SessionCache } from './session-cache.js';

/** The parts of RedisSessionBook a resync works on. */
export interface ResyncState {
  readonly cache: SessionCache;
  readonly own: MemorySessionBook;
  readonly pendingEnds: Map<string, SessionRecord>;
  readonly base: string;
  readonly channel: string;
  readonly log: Logger;
  /** The epoch of Redis's data this replica last saw; undefined before the first connection. */
  epoch: string | undefined;
  now(): number;
  addArgs(session: SessionRecord, onlyIfAbsent: boolean): Parameters<Redis['sessionAdd']>;
  command<T>(run: (client: Redis) => Promise<T>): Promise<T>;
  heard(digests: readonly string[]): void;
  announce(change: SessionChange): void;
}

async function shareAll(book: ResyncState, sessions: readonly SessionRecord[], moveFromOwn: boolean): Promise<number> {
  let count = 0;
  for (const session of sessions) {
    if (session.forgetAt <= book.now() || book.pendingEnds.has(session.accessDigest)) continue;
    book.heard(await book.command((c) => c.sessionAdd(...book.addArgs(session, true))));
    if (moveFromOwn) {
      book.cache.set(session);
      book.own.release(session);
    }
    count++;
  }
  return count;
}

export async function resync(book: ResyncState): Promise<void> {
  try {
    const epoch = await book.command((c) => c.sessionEpoch(book.base, book.now(), randomBytes(12).toString('hex')));
    const first = book.epoch === undefined;
    const redisLostData = !first && book.epoch !== epoch;
    book.epoch = epoch;
    const seen = redisLostData ? book.cache.sessions() : [];
    if (!first && !redisLostData) {
      book.cache.clear();
      book.announce({ reset: true });
    }
    const restored = await shareAll(book, seen, false);
    const shared = await shareAll(book, book.own.sessions(), true);
    let logouts = 0;
    for (const [digest, session] of [...book.pendingEnds]) {
      await book.command((c) => c.sessionEnd(book.base, book.now(), book.channel, digest, session.forgetAt));
      book.pendingEnds.delete(digest);
      logouts++;
    }
    if (redisLostData || restored + shared + logouts > 0) {
      book.log.info({ event: 'local_sessions_reshared', redisLostData, restored, shared, logouts },
        'Redis is back: shared the local sessions this replica kept meanwhile');
    }
  } catch {
    // Redis failed again (the home logs it): the next recovery runs this again.
  }
}
