/**
 * How long to wait after a failed renewal, and what waiting callers are told meanwhile.
 * Rejected or misconfigured credentials pause long (CREDENTIALS_RETRY_SECONDS, doubling): asking
 * again at once cannot help and would hammer SuiteCRM. Transient failures pause briefly
 * (doubling up to TOKEN_RETRY_MAX_SECONDS). During a pause callers get a fast 503 with Retry-After.
 */
import { ProxyError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { TokenRequestError, type FailureClass } from './grant.js';

export interface TokenFailure {
  readonly failureClass: FailureClass;
  readonly reason: string;
  readonly detail: string;
  readonly at: number;
}

/** First pause after a transient failure; doubles up to TOKEN_RETRY_MAX_SECONDS. */
const TRANSIENT_BASE_MS = 500;
/** Rejected credentials: CREDENTIALS_RETRY_SECONDS, doubling up to this factor. */
const CREDENTIALS_RETRY_MAX_FACTOR = 10;
/** A fast transient failure (reset, refused) gets one quick retry inside the same renewal. */
export const QUICK_RETRY_WINDOW_MS = 1000;
export const QUICK_RETRY_DELAY_MS = 150;

/** Read on every use (they may be getters): a configuration reload changes them while running. */
export interface RetrySettings {
  readonly tokenRetryMaxMs: number;
  readonly credentialsRetryMs: number;
}

export class RenewalPolicy {
  private failure: TokenFailure | undefined;
  private consecutiveFailures = 0;
  private nextAttemptAt = 0;

  constructor(
    private readonly settings: RetrySettings,
    private readonly now: () => number,
    private readonly random: () => number,
  ) {}

  get lastFailure(): TokenFailure | undefined {
    return this.failure;
  }

  /** Milliseconds until a renewal may be tried again (0: now). */
  waitMs(): number {
    return Math.max(0, this.nextAttemptAt - this.now());
  }

  /** The error for a caller that arrives during a pause, or undefined when a renewal may run. */
  refusal(): ProxyError | undefined {
    const wait = this.waitMs();
    return wait > 0 && this.failure ? unavailable(this.failure, wait) : undefined;
  }

  /** A fast transient failure is worth one quick retry inside the same renewal. */
  quickRetryDelay(err: unknown, startedAt: number): number | undefined {
    const quick = err instanceof TokenRequestError && err.failureClass === 'transient' && this.now() - startedAt < QUICK_RETRY_WINDOW_MS;
    return quick ? QUICK_RETRY_DELAY_MS + Math.round(this.random() * QUICK_RETRY_DELAY_MS) : undefined;
  }

  /** A renewal succeeded; returns true when it ended a failure (for the recovery log line). */
  succeeded(): boolean {
    const recovered = this.failure !== undefined;
    this.failure = undefined;
    this.reset();
    return recovered;
  }

  /**
   * The credential's settings changed (a reload, or the re-read after a rejection found new
   * content): the pause and the backoff were about the old values, so both end now.
   */
  reset(): void {
    this.consecutiveFailures = 0;
    this.nextAttemptAt = 0;
  }

  /** Lifts the pause in force once (an operator's SIGHUP); the backoff count stays. Returns whether there was one. */
  allowNow(): boolean {
    const paused = this.waitMs() > 0;
    this.nextAttemptAt = 0;
    return paused;
  }

  /** Records a failed renewal, sets the pause, and returns the error for waiting callers. */
  failed(err: unknown): ProxyError {
    const now = this.now();
    const failure: TokenFailure = err instanceof TokenRequestError
      ? { failureClass: err.failureClass, reason: err.reason, detail: err.detail, at: now }
      : { failureClass: 'transient', reason: 'unexpected', detail: 'the token request failed unexpectedly', at: now };
    this.consecutiveFailures += 1;
    const { credentialsRetryMs, tokenRetryMaxMs } = this.settings;
    const random = this.random;
    const slow = failure.failureClass === 'rejected' || failure.failureClass === 'misconfigured';
    const pause = slow
      ? backoffDelay(this.consecutiveFailures, credentialsRetryMs * 2, credentialsRetryMs * CREDENTIALS_RETRY_MAX_FACTOR, random)
      : backoffDelay(this.consecutiveFailures, TRANSIENT_BASE_MS, tokenRetryMaxMs, random);
    this.nextAttemptAt = now + pause;
    this.failure = failure;
    return unavailable(failure, pause);
  }
}

function unavailable(failure: TokenFailure, waitMs: number): ProxyError {
  const retryAfterSeconds = waitMs / 1000;
  if (failure.failureClass === 'rejected') {
    return new ProxyError('CREDENTIALS_REJECTED', failure.detail, { retryAfterSeconds });
  }
  return new ProxyError('TOKEN_UNAVAILABLE', `no SuiteCRM token could be obtained: ${failure.detail}`, { retryAfterSeconds });
}
