/**
 * The 401 loop guard. A replay whose freshly obtained token is rejected too means SuiteCRM
 * refuses every token (wrong OAuth2 keys, a disabled API user): renewing again would only hammer
 * the token endpoint. So for a growing pause, 401s are passed back without renewing; the first
 * request that succeeds lifts the guard.
 */
import { backoffDelay } from './backoff.js';

/** The first pause; doubles per strike up to TOKEN_RETRY_MAX_SECONDS (at least this). */
const FIRST_PAUSE_MS = 1000;

export class ReauthGuard {
  private strikes = 0;
  private blockedUntil = 0;

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

  /** A fresh token was rejected too: returns the pause in ms during which 401s are passed back. */
  strike(): number {
    this.strikes += 1;
    const pause = backoffDelay(this.strikes, FIRST_PAUSE_MS, Math.max(FIRST_PAUSE_MS, this.maxPauseMs()), this.random);
    this.blockedUntil = this.now() + pause;
    return pause;
  }

  /** A request succeeded: SuiteCRM accepts our tokens again. */
  clear(): void {
    if (this.strikes !== 0) {
      this.strikes = 0;
      this.blockedUntil = 0;
    }
  }
}
