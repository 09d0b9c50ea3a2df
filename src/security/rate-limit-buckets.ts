/**
 * The store behind @fastify/rate-limit for the callers' rate limits: token buckets kept by
 * SharedCounters (src/shared-state/), so they count once per process, per PROXY_WORKERS group or
 * per Redis fleet. The library brings the hook, the headers and the 429. Its own stores (memory,
 * and Redis with INCR + PEXPIRE) count fixed windows, which let a caller send 2x its limit
 * across a window edge; so this store keeps the library's interface and takes from a bucket
 * instead: `max` is the bucket size (burst) and `timeWindow` the time to refill a full bucket,
 * so the refill rate is max / timeWindow, i.e. the caller's requests per second.
 */
import type { RateLimitSpec } from '../config/callers.js';
import type { BucketTake, SharedCounters } from '../shared-state/counters.js';

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

/** A take as the library counts: `current` above `max` means refused. */
export function storeResult(take: BucketTake, max: number): StoreResult {
  return { current: take.allowed ? max - take.remaining : max + 1, ttl: take.waitMs };
}

/** The store class @fastify/rate-limit instantiates, on `counters`; request buckets are keyed `request:<caller>`. */
export function bucketStore(counters: SharedCounters): new () => RateLimitBuckets {
  return class extends RateLimitBuckets {
    constructor() {
      super(counters, 'request:');
    }
  };
}

export class RateLimitBuckets {
  constructor(private readonly counters: SharedCounters, private readonly namespace: string) {}

  /** The store interface @fastify/rate-limit calls. */
  incr(key: string, callback: Callback, timeWindowMs: number, max: number): void {
    this.counters.take(this.namespace + key, max, timeWindowMs).then((take) => callback(null, storeResult(take, max)), callback);
  }

  /** A route-level limit (none today) gets buckets of its own. */
  child(routeOptions: object): RateLimitBuckets {
    // The library passes its merged options, with the route as `routeInfo` (its types say otherwise).
    const route = (routeOptions as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
    return new RateLimitBuckets(this.counters, `${this.namespace}${String(route?.method ?? '')}${String(route?.url ?? '')}:`);
  }
}
