/**
 * Which local sessions the proxy keeps, so that one tool can never log out another: each caller
 * holds at most `maxPerCaller` sessions (past it, that caller's own least recently used session
 * goes), and all callers together at most `maxTotal` (past it, the least recently used session of
 * the caller holding the most goes). Expired sessions leave first, in the order they end.
 * Pure bookkeeping: no tokens, no digests, no clock of its own.
 */

export interface TableSession {
  readonly id: string;
  readonly caller: string;
  /** From this time (ms) on the session is dropped: it can no longer be used, not even to refresh. */
  readonly forgetAt: number;
}

export interface SessionLimits {
  readonly maxTotal: number;
  readonly maxPerCaller: number;
}

export class SessionTable<S extends TableSession> {
  /** Per caller, in use order: the first entry is that caller's least recently used session. */
  private readonly byCaller = new Map<string, Map<string, S>>();
  /**
   * Sessions in the order they end. Sessions of one lifetime end in the order they began, so
   * one queue per lifetime stays sorted without sorting.
   */
  private readonly endQueues = new Map<number, Map<string, S>>();
  private total = 0;

  constructor(
    private readonly limits: SessionLimits,
    /** Called for every session the table lets go of (expired or evicted), not for `remove`. */
    private readonly dropped: (session: S) => void,
  ) {}

  get size(): number {
    return this.total;
  }

  /** Adds a new session that lasts `lifetimeMs`, then evicts to stay within the limits. */
  add(session: S, lifetimeMs: number, now: number): void {
    this.prune(now);
    let own = this.byCaller.get(session.caller);
    if (own === undefined) {
      own = new Map();
      this.byCaller.set(session.caller, own);
    }
    own.set(session.id, session);
    let queue = this.endQueues.get(lifetimeMs);
    if (queue === undefined) {
      queue = new Map();
      this.endQueues.set(lifetimeMs, queue);
    }
    queue.set(session.id, session);
    this.total++;
    if (own.size > this.limits.maxPerCaller) this.evictFrom(own);
    while (this.total > this.limits.maxTotal) this.evictFrom(this.fullest());
  }

  /** Marks a session as just used, so its caller's other sessions are evicted before it. */
  touch(session: S): void {
    const own = this.byCaller.get(session.caller);
    if (own?.delete(session.id) === true) own.set(session.id, session);
  }

  /** Forgets a session (logout, rotation, expiry found on lookup). */
  remove(session: S): void {
    if (this.byCaller.get(session.caller)?.delete(session.id) !== true) return;
    for (const queue of this.endQueues.values()) if (queue.delete(session.id)) break;
    this.total--;
  }

  /** Live sessions per caller (callers that held one since start-up stay listed, with 0). */
  countsByCaller(now: number): ReadonlyMap<string, number> {
    this.prune(now);
    return new Map([...this.byCaller].map(([caller, own]) => [caller, own.size]));
  }

  /** Drops every session that has ended, from the front of each queue. */
  private prune(now: number): void {
    for (const queue of this.endQueues.values()) {
      for (const session of queue.values()) {
        if (now < session.forgetAt) break;
        this.drop(session);
      }
    }
  }

  /** The caller holding the most sessions. */
  private fullest(): Map<string, S> {
    let fullest: Map<string, S> | undefined;
    for (const own of this.byCaller.values()) if (fullest === undefined || own.size > fullest.size) fullest = own;
    // Only called while total > maxTotal >= 1, so some caller holds a session.
    return fullest as Map<string, S>;
  }

  private evictFrom(own: Map<string, S>): void {
    const oldest = own.values().next().value;
    if (oldest !== undefined) this.drop(oldest);
  }

  private drop(session: S): void {
    this.remove(session);
    this.dropped(session);
  }
}
