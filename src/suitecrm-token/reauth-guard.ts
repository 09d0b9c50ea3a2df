/**
 * The 401 loop guard. A replay whose freshly obtained token is rejected on its first use means
 * SuiteCRM refuses every token (wrong OAuth2 keys, a disabled API user): renewing again would only
 * hammer the token endpoint. So for a growing pause, 401s are passed back without renewing; the
 * first request that succeeds lifts the guard.
 *
 * It counts one rejection per token, however many replays carried it (fifty replays share the
 * one token the 401s before them caused). A token that had already worked when a replay got 401
 * for it was revoked (by an admin, a logout, a database cleanup): an ordinary revocation, which
 * the manager handles like any 401, never a sign that fresh tokens are refused.
 */
import { backoffDelay } from './backoff.js';
import type { Token } from './grant.js';

/** The first pause; doubles per counted rejection up to TOKEN_RETRY_MAX_SECONDS (at least this). */
const FIRST_PAUSE_MS = 1000;

/** What a 401 to a replay means. */
export type ReplayRejection =
  /** A fresh token refused on its first use: counted; 401s are passed back for `pauseMs`. */
  | { readonly kind: 'fresh_token_rejected'; readonly pauseMs: number }
  /** Another replay with a fresh token whose rejection was already counted. */
  | { readonly kind: 'already_counted' }
  /** The token had worked before: it was revoked. */
  | { readonly kind: 'revoked' };

const ALREADY_COUNTED: ReplayRejection = Object.freeze({ kind: 'already_counted' });
const REVOKED: ReplayRejection = Object.freeze({ kind: 'revoked' });

export class ReauthGuard {
  private strikes = 0;
  private blockedUntil = 0;
  /** The access token of the newest token a request succeeded with. */
  private proven: string | undefined;
  /** The access token whose rejection was counted last. */
  private counted: string | undefined;

  constructor(
    /** TOKEN_RETRY_MAX_SECONDS, read on use: a reload may change it. */
    private readonly maxPauseMs: () => number,
    private readonly now: () => number,
    private readonly random: () => number,
  ) {}

  /** True while a 401 must go back to the caller instead of causing a renewal. */
  blocked(): boolean {
    return this.now() < this.blockedUntil;
  }

  /** The replay with a fresh token got 401 too: counted once per token, never for a proven one. */
  replayRejected(token: Pick<Token, 'accessToken'>): ReplayRejection {
    if (token.accessToken === this.proven) return REVOKED;
    if (token.accessToken === this.counted) return ALREADY_COUNTED;
    this.counted = token.accessToken;
    this.strikes += 1;
    const pauseMs = backoffDelay(this.strikes, FIRST_PAUSE_MS, Math.max(FIRST_PAUSE_MS, this.maxPauseMs()), this.random);
    this.blockedUntil = this.now() + pauseMs;
    return { kind: 'fresh_token_rejected', pauseMs };
  }

  /** A request succeeded with `token`: SuiteCRM accepts our tokens (again). Per request: cheap when nothing changes. */
  accepted(token: Pick<Token, 'accessToken'>): void {
    if (token.accessToken !== this.proven) this.proven = token.accessToken;
    if (this.strikes !== 0) {
      this.strikes = 0;
      this.blockedUntil = 0;
    }
  }
}
