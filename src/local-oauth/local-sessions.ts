/**
 * Local tokens: what a legacy tool gets from the proxy's token endpoint instead of a SuiteCRM
 * token. Opaque random values (256 bits, base64url, with a recognisable prefix so the proxy can
 * tell a stale local token from a wrong key), bound to one caller, with their own lifetimes.
 * Only SHA-256 digests are kept, bounded per caller (LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT) and in
 * all (LOCAL_TOKEN_MAX_SESSIONS) by session-table.ts, so one tool's logins never evict another
 * tool's sessions. A refresh rotates both tokens, as SuiteCRM does; a spent refresh token is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { oauthErrors, type IssuedTokens } from './responses.js';
import { SessionTable } from './session-table.js';

export const LOCAL_ACCESS_TOKEN_PREFIX = 'spat_';
export const LOCAL_REFRESH_TOKEN_PREFIX = 'sprt_';
const TOKEN_BYTES = 32;
/** A session is kept this long after its last token expired, so a late refresh hears "Token has expired". */
const FORGET_GRACE_MS = 60_000;

export interface LocalTokenOptions {
  readonly accessTtlMs: number;
  readonly refreshTtlMs: number;
  /** Upper bound on live sessions in all; past it the caller holding the most loses its least recently used one. */
  readonly maxSessions: number;
  /** Upper bound on one caller's live sessions; past it that caller's least recently used one goes. Default: maxSessions. */
  readonly maxSessionsPerClient?: number;
  /** Milliseconds clock; tests pass a fake one. */
  readonly now?: () => number;
}

/** One login: an access token and, for the password and refresh grants, a refresh token. */
export interface LocalSession {
  /** Random, not secret: names the session in logs. */
  readonly id: string;
  readonly caller: string;
  readonly accessDigest: string;
  readonly accessExpiresAt: number;
  readonly refreshDigest: string | undefined;
  readonly refreshExpiresAt: number | undefined;
  /** A while after its last token expired, when the session is dropped. */
  readonly forgetAt: number;
}

export interface IssuedSession extends IssuedTokens {
  readonly session: LocalSession;
}

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

function newToken(prefix: string): string {
  return prefix + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Shaped like a local access token: any other bearer value is a proxy key (or nothing we issued). */
export function looksLikeLocalAccessToken(value: string): boolean {
  return value.startsWith(LOCAL_ACCESS_TOKEN_PREFIX);
}

export class LocalSessions {
  private readonly now: () => number;
  private readonly byAccess = new Map<string, LocalSession>();
  private readonly byRefresh = new Map<string, LocalSession>();
  private readonly table: SessionTable<LocalSession>;

  constructor(private readonly opts: LocalTokenOptions) {
    this.now = opts.now ?? Date.now;
    const limits = { maxTotal: opts.maxSessions, maxPerCaller: opts.maxSessionsPerClient ?? opts.maxSessions };
    this.table = new SessionTable(limits, (session) => this.forget(session));
  }

  /** Starts a session for `caller`; `withRefresh` for the password and refresh grants. */
  issue(caller: string, withRefresh: boolean): IssuedSession {
    const now = this.now();
    const accessToken = newToken(LOCAL_ACCESS_TOKEN_PREFIX);
    const refreshToken = withRefresh ? newToken(LOCAL_REFRESH_TOKEN_PREFIX) : undefined;
    const accessExpiresAt = now + this.opts.accessTtlMs;
    const refreshExpiresAt = refreshToken === undefined ? undefined : now + this.opts.refreshTtlMs;
    const forgetAt = Math.max(accessExpiresAt, refreshExpiresAt ?? accessExpiresAt) + FORGET_GRACE_MS;
    const session: LocalSession = {
      id: randomBytes(6).toString('hex'),
      caller,
      accessDigest: digest(accessToken),
      accessExpiresAt,
      refreshDigest: refreshToken === undefined ? undefined : digest(refreshToken),
      refreshExpiresAt,
      forgetAt,
    };
    this.byAccess.set(session.accessDigest, session);
    if (session.refreshDigest !== undefined) this.byRefresh.set(session.refreshDigest, session);
    this.table.add(session, forgetAt - now, now);
    return { session, accessToken, refreshToken, expiresInSeconds: Math.round(this.opts.accessTtlMs / 1000) };
  }

  /** The live session an access token belongs to; undefined when unknown, expired or revoked. */
  authenticate(accessToken: string): LocalSession | undefined {
    const session = this.byAccess.get(digest(accessToken));
    if (session === undefined || this.now() >= session.accessExpiresAt) return undefined;
    this.table.touch(session);
    return session;
  }

  /**
   * league's `validateOldRefreshToken` for a caller already authenticated by its client
   * credentials: the session, or SuiteCRM's 401 invalid_request with the matching hint.
   */
  sessionForRefresh(refreshToken: string, caller: string): LocalSession {
    if (!refreshToken.startsWith(LOCAL_REFRESH_TOKEN_PREFIX)) throw oauthErrors.invalidRefreshToken('Cannot decrypt the refresh token');
    const session = this.byRefresh.get(digest(refreshToken));
    if (session === undefined) throw oauthErrors.invalidRefreshToken('Token has been revoked');
    if (session.caller !== caller) throw oauthErrors.invalidRefreshToken('Token is not linked to client');
    if (session.refreshExpiresAt !== undefined && this.now() >= session.refreshExpiresAt) {
      this.revoke(session);
      throw oauthErrors.invalidRefreshToken('Token has expired');
    }
    return session;
  }

  /** Refresh rotation, as SuiteCRM does it: the old access and refresh tokens stop working, a new pair is issued. */
  rotate(session: LocalSession): IssuedSession {
    this.revoke(session);
    return this.issue(session.caller, true);
  }

  /** Logout: the session's access token and its refresh token stop working. */
  revoke(session: LocalSession): void {
    this.table.remove(session);
    this.forget(session);
  }

  /** Sessions held (an upper bound: ended ones leave at the next login or count). */
  get size(): number {
    return this.table.size;
  }

  /** Live sessions per caller, for the sessions gauge. */
  sessionsByCaller(): ReadonlyMap<string, number> {
    return this.table.countsByCaller(this.now());
  }

  private forget(session: LocalSession): void {
    this.byAccess.delete(session.accessDigest);
    if (session.refreshDigest !== undefined) this.byRefresh.delete(session.refreshDigest);
  }
}
