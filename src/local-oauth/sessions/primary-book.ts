/**
 * PROXY_WORKERS: the group's local sessions live in the primary (its MemorySessionBook, or its
 * Redis book with TOKEN_STORE=redis), so a token issued by one worker works on every worker and a
 * logout holds on all of them. A worker asks the primary over IPC (shared-state/primary-link.ts)
 * and keeps a SessionCache of what it has seen; the primary pushes every session that ends, and
 * the worker drops its copy. `sessionService` is the primary's side.
 */
import type { PrimaryLink, StateService } from '../../shared-state/primary-link.js';
import type { RefreshAnswer, SessionBook, SessionChange, SessionRecord } from './session-book.js';
import { SessionCache } from './session-cache.js';

/** The service name on the IPC channel. */
export const SESSIONS_SERVICE = 'sessions';

export class PrimarySessionBook implements SessionBook {
  private readonly cache: SessionCache;

  constructor(private readonly link: PrimaryLink, cacheMax: number) {
    this.cache = new SessionCache({ max: cacheMax, load: (digest) => this.ask<SessionRecord | null>('find', digest) });
    link.onPush(SESSIONS_SERVICE, (change) => this.changed(change as SessionChange));
  }

  peek(accessDigest: string): SessionRecord | null | undefined {
    return this.cache.peek(accessDigest);
  }

  find(accessDigest: string): Promise<SessionRecord | null> {
    return this.cache.find(accessDigest);
  }

  async add(session: SessionRecord): Promise<void> {
    await this.ask('add', session);
    this.cache.set(session);
  }

  async refresh(refreshDigest: string, caller: string, next: SessionRecord | undefined): Promise<RefreshAnswer> {
    const answer = await this.ask<RefreshAnswer>('refresh', refreshDigest, caller, next);
    if (answer.ok && next !== undefined) {
      this.cache.ended([answer.old.accessDigest]);
      this.cache.set(next);
    }
    return answer;
  }

  async end(session: SessionRecord): Promise<void> {
    this.cache.ended([session.accessDigest]);
    await this.ask('end', session);
  }

  async countsByCaller(): Promise<ReadonlyMap<string, number>> {
    return new Map(await this.ask<Array<[string, number]>>('counts'));
  }

  onChange(): void {
    /* the primary tells every worker itself */
  }

  async close(): Promise<void> {
    this.cache.clear();
  }

  private ask<T>(op: string, ...args: unknown[]): Promise<T> {
    return this.link.call<T>(SESSIONS_SERVICE, op, ...args);
  }

  private changed(change: SessionChange): void {
    if ('reset' in change) this.cache.clear();
    else this.cache.ended(change.ended);
  }
}

/** The primary's side: its book answers every worker, and every session that ends is pushed to all of them. */
export function sessionService(book: SessionBook, push: (change: SessionChange) => void): StateService {
  book.onChange(push);
  return {
    find: (digest: string) => book.find(digest),
    add: (session: SessionRecord) => book.add(session),
    refresh: (refreshDigest: string, caller: string, next: SessionRecord | undefined) => book.refresh(refreshDigest, caller, next ?? undefined),
    end: (session: SessionRecord) => book.end(session),
    // A Map does not survive the IPC channel's JSON.
    counts: async () => [...(await book.countsByCaller())],
  };
}
