/**
 * The contract for where local sessions live (the sessions of OAuth-speaking tools, issued by the
 * proxy's own token endpoint), one implementation per home (src/shared-state/state-home.ts):
 * this process's memory (memory-book.ts), the PROXY_WORKERS primary (primary-book.ts, asked over
 * IPC) and Redis (redis-book.ts, shared by every replica). A book sees digests only, never a token
 * (local-sessions.ts in front of it makes the tokens and their digests), and it enforces
 * LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT and LOCAL_TOKEN_MAX_SESSIONS for everyone who shares it.
 *
 * `peek` answers synchronously from what this process knows, so a request whose session is known
 * never waits; only a miss costs a question (`find`). A book shared with other processes keeps a
 * bounded cache for that, emptied of ended sessions by the changes others announce (`onChange`).
 */

/** A local session as every process that shares it sees it: digests of its tokens, never the tokens. */
export interface SessionRecord {
  /** Random, not secret: names the session in logs. */
  readonly id: string;
  readonly caller: string;
  /** Epoch ms, on the clock of the process that issued it. */
  readonly issuedAt: number;
  readonly accessDigest: string;
  readonly accessExpiresAt: number;
  /** Only sessions of the password and refresh_token grants have a refresh token. */
  readonly refreshDigest?: string;
  readonly refreshExpiresAt?: number;
  /** A while after its last token expired, when the session is dropped. */
  readonly forgetAt: number;
}

/** Why a refresh token was refused, as SuiteCRM's hints say it. */
export type RefreshRefusal = 'revoked' | 'not_linked' | 'expired';

export type RefreshAnswer =
  | { readonly ok: true; readonly old: SessionRecord }
  | { readonly ok: false; readonly refusal: RefreshRefusal };

/** What a book tells the caches in front of it: sessions that ended, or "forget everything you cached". */
export type SessionChange = { readonly ended: readonly string[] } | { readonly reset: true };

export interface SessionBook {
  /** True when `peek` always answers (the sessions live in this process): nothing is ever looked up. */
  readonly complete?: boolean;
  /**
   * What this process knows now, without waiting: the session; null when it knows there is none
   * (unknown, ended); undefined when it has to ask (`find`).
   */
  peek(accessDigest: string): SessionRecord | null | undefined;
  /** The session of an access-token digest, asking whoever keeps it; null when there is none. */
  find(accessDigest: string): Promise<SessionRecord | null>;
  /** A new session; past the limits other sessions are evicted (and announced as ended). */
  add(session: SessionRecord): Promise<void>;
  /**
   * Checks a refresh token of `caller`; with `next`, spends it: the old session ends and `next`
   * begins in one step for everyone who shares the book, so a refresh token works once. An
   * expired one ends its session.
   */
  refresh(refreshDigest: string, caller: string, next: SessionRecord | undefined): Promise<RefreshAnswer>;
  /** Logout: the session's access and refresh tokens stop working for everyone. */
  end(session: SessionRecord): Promise<void>;
  /** Live sessions per caller (callers seen since start-up stay listed, with 0). */
  countsByCaller(): Promise<ReadonlyMap<string, number>>;
  /** Hears sessions ending by any process's doing (a PROXY_WORKERS primary passes them on to its workers). */
  onChange(listener: (change: SessionChange) => void): void;
  close(): Promise<void>;
}
