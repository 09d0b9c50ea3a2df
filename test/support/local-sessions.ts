/** Local sessions of one process (a MemorySessionBook behind LocalSessions), for the unit tests. */
import { LocalSessions } from '../../src/local-oauth/local-sessions.js';
import { MemorySessionBook } from '../../src/local-oauth/sessions/memory-book.js';

export interface MemorySessionsOptions {
  readonly accessTtlMs: number;
  readonly refreshTtlMs: number;
  readonly maxSessions: number;
  readonly maxSessionsPerClient?: number;
  readonly now?: () => number;
}

export function memorySessions(opts: MemorySessionsOptions): LocalSessions {
  const book = new MemorySessionBook({ maxTotal: opts.maxSessions, maxPerCaller: opts.maxSessionsPerClient ?? opts.maxSessions }, opts.now);
  return new LocalSessions(book, opts);
}
