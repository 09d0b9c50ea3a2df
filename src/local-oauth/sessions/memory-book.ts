/**
 * Local sessions in this process's memory: the whole truth for one proxy process, the PROXY_WORKERS
 * primary's copy for its workers, and a Redis replica's own sessions while Redis is down. Lookups
 * are synchronous (the `*Now` methods); the SessionBook methods wrap them. session-table.ts keeps
 * the limits: one tool's logins never evict another tool's sessions.
 */
import type { RefreshAnswer, SessionBook, SessionChange, SessionRecord } from './session-book.js';
import { SessionTable, type SessionLimits } from './session-table.js';

export class MemorySessionBook implements SessionBook {
  readonly complete = true;
  private readonly byAccess = new Map<string, SessionRecord>();
  private readonly byRefresh = new Map<string, SessionRecord>();
  private readonly table: SessionTable<SessionRecord>;
  private readonly listeners = new Set<(change: SessionChange) => void>();

  constructor(limits: SessionLimits, private readonly now: () => number = Date.now) {
    this.table = new SessionTable(limits, (session) => {
      this.forget(session);
      // Evicted: caches elsewhere must drop it. Expired: they refuse it by its times anyway.
      if (this.now() < session.forgetAt) this.announce([session.accessDigest]);
    });
  }

  /** The session of an access digest, marked as just used; undefined when this book does not hold it. */
  get(accessDigest: string): SessionRecord | undefined {
    const session = this.byAccess.get(accessDigest);
    if (session !== undefined) this.table.touch(session);
    return session;
  }

  /** Whether this book holds the session of a refresh digest (a Redis replica's own sessions while Redis is down). */
  holdsRefresh(refreshDigest: string): boolean {
    return this.byRefresh.has(refreshDigest);
  }

  /** Every session held (a Redis replica shares its own ones once Redis is back). */
  sessions(): SessionRecord[] {
    return [...this.byAccess.values()];
  }

  addNow(session: SessionRecord): void {
    this.byAccess.set(session.accessDigest, session);
    if (session.refreshDigest !== undefined) this.byRefresh.set(session.refreshDigest, session);
    // Sessions of one lifetime end in the order they began: the table keeps one queue per lifetime.
    this.table.add(session, session.forgetAt - session.issuedAt, this.now());
  }

  refreshNow(refreshDigest: string, caller: string, next: SessionRecord | undefined): RefreshAnswer {
    const old = this.byRefresh.get(refreshDigest);
    if (old === undefined) return { ok: false, refusal: 'revoked' };
    if (old.caller !== caller) return { ok: false, refusal: 'not_linked' };
    if (old.refreshExpiresAt !== undefined && this.now() >= old.refreshExpiresAt) {
      this.endNow(old);
      return { ok: false, refusal: 'expired' };
    }
    if (next !== undefined) {
      this.endNow(old);
      this.addNow(next);
    }
    return { ok: true, old };
  }

  /** Ends a session; false when this book did not hold it. */
  endNow(session: SessionRecord): boolean {
    if (this.byAccess.get(session.accessDigest) === undefined) return false;
    this.table.remove(session);
    this.forget(session);
    this.announce([session.accessDigest]);
    return true;
  }

  /** Lets go of a session without announcing it ended (a Redis replica's own session, now shared). */
  release(session: SessionRecord): void {
    if (this.byAccess.get(session.accessDigest) === undefined) return;
    this.table.remove(session);
    this.forget(session);
  }

  counts(): ReadonlyMap<string, number> {
    return this.table.countsByCaller(this.now());
  }

  /** Sessions held (an upper bound: ended ones leave at the next login or count). */
  get size(): number {
    return this.table.size;
  }

  peek(accessDigest: string): SessionRecord | null {
    return this.get(accessDigest) ?? null;
  }

  async find(accessDigest: string): Promise<SessionRecord | null> {
    return this.peek(accessDigest);
  }

  async add(session: SessionRecord): Promise<void> {
    this.addNow(session);
  }

  async refresh(refreshDigest: string, caller: string, next: SessionRecord | undefined): Promise<RefreshAnswer> {
    return this.refreshNow(refreshDigest, caller, next);
  }

  async end(session: SessionRecord): Promise<void> {
    this.endNow(session);
  }

  async countsByCaller(): Promise<ReadonlyMap<string, number>> {
    return this.counts();
  }

  onChange(listener: (change: SessionChange) => void): void {
    this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private forget(session: SessionRecord): void {
    this.byAccess.delete(session.accessDigest);
    if (session.refreshDigest !== undefined) this.byRefresh.delete(session.refreshDigest);
  }

  private announce(ended: readonly string[]): void {
    for (const listener of this.listeners) listener({ ended });
  }
}
