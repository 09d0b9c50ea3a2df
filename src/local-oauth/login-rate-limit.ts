/**
 * Logins count against their caller's rateLimit (or PROXY_RATE_LIMIT_*), so a tool that logs in
 * in a loop is slowed down like one that floods the API. They use a bucket of their own, with
 * the same size and refill rate as the caller's request bucket: a login never uses up the
 * requests it is made for. Same token-bucket store as the request limit (security/).
 */
import { refillWindowMs, RateLimitBuckets } from '../security/rate-limit-buckets.js';
import type { OAuthCaller } from './client-registry.js';

export class LoginRateLimit {
  /** One bucket per caller name: the key space is bounded by PROXY_CLIENTS. */
  private readonly buckets: RateLimitBuckets;

  /** `now`: milliseconds clock; tests pass a fake one. */
  constructor(now?: () => number) {
    this.buckets = new RateLimitBuckets(now);
  }

  /** Counts one login; returns the seconds to wait when it is over the caller's limit. */
  take(caller: OAuthCaller): number | undefined {
    const limit = caller.rateLimit;
    if (limit === undefined) return undefined;
    const result = this.buckets.take(caller.name, refillWindowMs(limit), limit.burst);
    return result.current > limit.burst ? Math.max(1, Math.ceil(result.ttl / 1000)) : undefined;
  }
}
