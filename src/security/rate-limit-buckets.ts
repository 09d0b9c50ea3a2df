/**
 * A token-bucket store for @fastify/rate-limit. The library brings the hook, the headers and the
 * 429; its built-in stores count fixed windows, which let a caller send 2x its limit across a
 * window edge. Here `max` is the bucket size (burst) and `timeWindow` the time to refill a full
 * bucket, so the refill rate is max / timeWindow, i.e. the caller's requests per second.
 */
import type { RateLimitSpec } from '../config/callers.js';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export interface StoreResult {
  /** Requests counted against `max`; above `max` means refused. */
  readonly current: number;
  /** Milliseconds until the next request would be allowed (refused) or the bucket is full (allowed). */
  readonly ttl: number;
}

type Callback = (err: Error | null, result?: StoreResult) => void;

/** A caller's rateLimit as the store's `timeWindow`: the time to refill a full bucket. */
export function refillWindowMs(limit: RateLimitSpec): number {
  return Math.max(1, Math.round((limit.burst / limit.perSecond) * 1000));
}

export class RateLimitBuckets {
  /** One bucket per caller name: the key space is bounded by PROXY_CLIENTS. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  take(key: string, timeWindowMs: number, max: number): StoreResult {
    const now = this.now();
    const ratePerMs = max / Math.max(1, timeWindowMs);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: max, updatedMs: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(max, bucket.tokens + (now - bucket.updatedMs) * ratePerMs);
      bucket.updatedMs = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { current: max - Math.floor(bucket.tokens), ttl: Math.ceil((max - bucket.tokens) / ratePerMs) };
    }
    return { current: max + 1, ttl: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs)) };
  }

  /** The store interface @fastify/rate-limit calls. */
  incr(key: string, callback: Callback, timeWindowMs: number, max: number): void {
    callback(null, this.take(key, timeWindowMs, max));
  }

  child(): RateLimitBuckets {
    return new RateLimitBuckets(this.now);
  }
}
