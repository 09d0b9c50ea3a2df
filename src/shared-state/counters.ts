/**
 * The contract for counters several processes share: the callers' rate limits (token buckets)
 * and the failed-login throttles (fixed windows). Implementations, one per home (state-home.ts):
 * this process's memory, the PROXY_WORKERS primary (the same memory code, asked over IPC), and
 * Redis (one atomic script per operation), which falls back to memory while Redis is down.
 *
 * Keys are short and secret-free (a caller name, an address, a digest of a client id): they are
 * stored as they are.
 */

/** The answer to taking one request from a token bucket. */
export interface BucketTake {
  readonly allowed: boolean;
  /** Whole requests left in the bucket after this one. */
  readonly remaining: number;
  /** Milliseconds until the next request would be allowed (refused) or the bucket is full (allowed). */
  readonly waitMs: number;
}

/** A fixed window's count after an add. */
export interface WindowCount {
  readonly count: number;
  /** Milliseconds until the window ends (0 when there is none). */
  readonly resetInMs: number;
}

export interface SharedCounters {
  /** Takes one request from bucket `key`, which holds `burst` and refills completely in `refillMs`. */
  take(key: string, burst: number, refillMs: number): Promise<BucketTake>;
  /**
   * Adds `by` to the window `key`, which lasts `windowMs` from its first add. 0 only reads; a
   * negative `by` takes back an earlier add (never below 0, and it never starts a window).
   */
  add(key: string, windowMs: number, by: number): Promise<WindowCount>;
}
