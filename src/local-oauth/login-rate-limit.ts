/**
 * Logins count against their caller's rateLimit (or PROXY_RATE_LIMIT_*), so a tool that logs in
 * in a loop is slowed down like one that floods the API. They use a bucket of their own, with
 * the same size and refill rate as the caller's request bucket: a login never uses up the
 * requests it is made for. The buckets are SharedCounters (src/shared-state/), like the request
 * limit's, so they count once per process, PROXY_WORKERS group or Redis fleet.
 */
import { waitSeconds } from '../errors.js';
import { refillWindowMs } from '../security/rate-limit-buckets.js';
import type { SharedCounters } from '../shared-state/counters.js';
import type { OAuthCaller } from './client-registry.js';

export class LoginRateLimit {
  constructor(private readonly counters: SharedCounters) {}

  /** Counts one login; resolves to the seconds to wait when it is over the caller's limit. */
  async take(caller: OAuthCaller): Promise<number | undefined> {
    const limit = caller.rateLimit;
    if (limit === undefined) return undefined;
    const result = await this.counters.take(`login:${caller.name}`, limit.burst, refillWindowMs(limit));
    return result.allowed ? undefined : waitSeconds(result.waitMs);
  }
}
