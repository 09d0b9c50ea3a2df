/**
 * Local tokens: what a legacy tool gets from the proxy's token endpoint instead of a SuiteCRM
 * token. Opaque random values (256 bits, base64url, with a recognisable prefix so the proxy can
 * tell a stale local token from a wrong key), bound to one caller, with their own lifetimes.
 * This side makes the tokens and their digests (sessions/token-digest.ts); where the sessions live
 * is a SessionBook (sessions/session-book.ts): this process, the PROXY_WORKERS primary or Redis,
 * which sees digests only and keeps the limits. A refresh rotates both tokens, as SuiteCRM does;
 * a spent refresh token is refused, by every process that shares the book.
 *
 * `authenticate` is synchronous: it answers from what this process knows, and `lookup` is the
 * one wait a request makes when it does not know the token yet.
 */
import { randomBytes } from 'node:crypto';
import { oauthErrors, type IssuedTokens } from './responses.js';
import type { RefreshRefusal, SessionBook, SessionRecord } from './sessions/session-book.js';
import { tokenDigest, type TokenDigest } from './sessions/token-digest.js';

export const LOCAL_ACCESS_TOKEN_PREFIX = 'spat_';
export const LOCAL_REFRESH_TOKEN_PREFIX = 'sprt_';
const TOKEN_BYTES = 32;
/** A session is kept this long after its last token expired, so a late refresh hears "Token has expired". */
const FORGET_GRACE_MS = 60_000;

export interface LocalTokenOptions {
  readonly accessTtlMs: number;
  readonly refreshTtlMs: number;
  /** How tokens are stored (default: SHA-256; with TOKEN_STORE_KEY an HMAC). */
  readonly digest?: TokenDigest;
  /** Milliseconds clock (epoch); tests pass a fake one. */
  readonly now?: () => number;
}

/** One login: an access token and, for the password and refresh grants, a refresh token. */
export type LocalSession = SessionRecord;

export interface IssuedSession extends IssuedTokens {
  readonly session: LocalSession;
}

const REFUSAL_HINTS: Record<RefreshRefusal, string> = {
  revoked: 'Token has been revoked',
  not_linked: 'Token is not linked to client',
  expired: 'Token has expired',
};

function newToken(prefix: string): string {
  return prefix + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Shaped like a local access token: any other bearer value is a proxy key (or nothing we issued). */
export function looksLikeLocalAccessToken(value: string): boolean {
  return value.startsWith(LOCAL_ACCESS_TOKEN_PREFIX);
}

export class LocalSessions {
  private readonly now: () => number;
  private readonly digestOf: TokenDigest;
  /** The last token digested: `lookup` and `authenticate` of one request digest it once. */
  private last = { token: '', digest: '' };

  constructor(private readonly book: SessionBook, private readonly opts: LocalTokenOptions) {
    this.now = opts.now ?? Date.now;
    this.digestOf = opts.digest ?? tokenDigest(undefined);
  }

  /** Starts a session for `caller`; `withRefresh` for the password and refresh grants. */
  async issue(caller: string, withRefresh: boolean): Promise<IssuedSession> {
    const issued = this.newSession(caller, withRefresh);
    await this.book.add(issued.session);
    return issued;
  }

  /**
   * The live session an access token belongs to, from what this process knows: null when it is
   * unknown, expired or ended; undefined when this process has to `lookup` it first.
   */
  authenticate(accessToken: string): LocalSession | null | undefined {
    const session = this.book.peek(this.digest(accessToken));
    if (session === undefined || session === null) return session;
    return this.now() < session.accessExpiresAt ? session : null;
  }

  /** False when the sessions live in this process: `authenticate` always answers, `lookup` is never needed. */
  get needsLookups(): boolean {
    return this.book.complete !== true;
  }

  /** Undefined when `authenticate` can answer now; else a promise that settles (never rejects) once it can. */
  lookup(accessToken: string): Promise<void> | undefined {
    const digest = this.digest(accessToken);
    if (this.book.peek(digest) !== undefined) return undefined;
    return this.book.find(digest).then(() => undefined, () => undefined);
  }

  /**
   * league's refresh for a caller already authenticated by its client credentials: with `spend`,
   * the old pair stops working and a new pair is issued (once, whichever process is asked);
   * without, the refresh token is only checked (the request fails for another reason). Throws
   * SuiteCRM's 401 invalid_request with the matching hint.
   */
  async refresh(refreshToken: string, caller: string, spend: boolean): Promise<IssuedSession | undefined> {
    if (!refreshToken.startsWith(LOCAL_REFRESH_TOKEN_PREFIX)) throw oauthErrors.invalidRefreshToken('Cannot decrypt the refresh token');
    const next = spend ? this.newSession(caller, true) : undefined;
    const answer = await this.book.refresh(this.digest(refreshToken), caller, next?.session);
    if (!answer.ok) throw oauthErrors.invalidRefreshToken(REFUSAL_HINTS[answer.refusal]);
    return next;
  }

  /** Logout: ends the session of an access token; the session, or undefined when there was none. */
  async logout(accessToken: string): Promise<LocalSession | undefined> {
    const digest = this.digest(accessToken);
    let session = this.book.peek(digest);
    if (session === undefined) session = await this.book.find(digest);
    if (session === null) return undefined;
    await this.book.end(session);
    return session;
  }

  /** Live sessions per caller, for the sessions gauge. */
  sessionsByCaller(): Promise<ReadonlyMap<string, number>> {
    return this.book.countsByCaller();
  }

  close(): Promise<void> {
    return this.book.close();
  }

  private digest(token: string): string {
    if (this.last.token !== token) this.last = { token, digest: this.digestOf(token) };
    return this.last.digest;
  }

  private newSession(caller: string, withRefresh: boolean): IssuedSession {
    const now = this.now();
    const accessToken = newToken(LOCAL_ACCESS_TOKEN_PREFIX);
    const refreshToken = withRefresh ? newToken(LOCAL_REFRESH_TOKEN_PREFIX) : undefined;
    const accessExpiresAt = now + this.opts.accessTtlMs;
    const refreshExpiresAt = refreshToken === undefined ? undefined : now + this.opts.refreshTtlMs;
    const session: LocalSession = {
      id: randomBytes(6).toString('hex'),
      caller,
      issuedAt: now,
      accessDigest: this.digestOf(accessToken),
      accessExpiresAt,
      ...(refreshToken === undefined ? {} : { refreshDigest: this.digestOf(refreshToken), refreshExpiresAt }),
      forgetAt: Math.max(accessExpiresAt, refreshExpiresAt ?? accessExpiresAt) + FORGET_GRACE_MS,
    };
    return { session, accessToken, refreshToken, expiresInSeconds: Math.round(this.opts.accessTtlMs / 1000) };
  }
}
