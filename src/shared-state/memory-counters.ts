/**
 * SharedCounters in this process's memory: the counters of one proxy process, of a PROXY_WORKERS
 * primary (which answers its workers from this copy), and of a Redis replica while Redis is down.
 *
 * Token buckets (the callers' rate limits): a bucket holds `burst` requests and refills at
 * burst / refillMs per millisecond, so a caller may send `burst` at once, then `perSecond` on
 * average; unlike a fixed window, it never lets 2x through at a window edge.
 * Fixed windows (the failed-login throttles): a count that starts at the first add and lasts
 * `windowMs`.
 *
 * Memory is bounded: at most MAX_KEYS buckets and MAX_KEYS windows, least recently used dropped
 * (a dropped bucket is a full one again; a dropped window starts over). The answers are computed
 * synchronously (`takeNow`, `addNow`); the contract's promises only wrap them.
 */
import { LRUCache } from 'lru-cache';
import type { BucketTake, SharedCounters, WindowCount } from './counters.js';

/** Bucket keys are caller names (bounded by PROXY_CLIENTS); window keys are addresses and client ids. */
const MAX_KEYS = 20_000;

interface Bucket {
  tokens: number;
  updatedMs: number;
}

interface Window {
  count: number;
  readonly endsAt: number;
}

/**
 * The answer to one take, from the tokens left in the bucket afterwards. The Redis implementation
 * answers with it too, from what its script left, so both homes answer alike.
 */
export function bucketAnswer(tokensLeft: number, allowed: boolean, burst: number, ratePerMs: number): BucketTake {
  return allowed
    ? { allowed, remaining: Math.floor(tokensLeft), waitMs: Math.ceil((burst - tokensLeft) / ratePerMs) }
    : { allowed, remaining: 0, waitMs: Math.max(1, Math.ceil((1 - tokensLeft) / ratePerMs)) };
}

export class MemoryCounters implements SharedCounters {
  private readonly buckets = new LRUCache<string, Bucket>({ max: MAX_KEYS });
  private readonly windows = new LRUCache<string, Window>({ max: MAX_KEYS });

  /** `now`: a milliseconds clock (tests pass a fake one). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  takeNow(key: string, burst: number, refillMs: number): BucketTake {
    const now = this.now();
    const ratePerMs = burst / Math.max(1, refillMs);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, updatedMs: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + Math.max(0, now - bucket.updatedMs) * ratePerMs);
      bucket.updatedMs = now;
    }
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    return bucketAnswer(bucket.tokens, allowed, burst, ratePerMs);
  }

  /** A negative `by` takes back an earlier add; it never starts a window. */
  addNow(key: string, windowMs: number, by: number): WindowCount {
    const now = this.now();
    let window = this.windows.get(key);
    if (window !== undefined && now >= window.endsAt) {
      this.windows.delete(key);
      window = undefined;
    }
    if (window === undefined) {
      if (by <= 0) return { count: 0, resetInMs: 0 };
      window = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count = Math.max(0, window.count + by);
    return { count: window.count, resetInMs: Math.max(0, Math.ceil(window.endsAt - now)) };
  }

  take(key: string, burst: number, refillMs: number): Promise<BucketTake> {
    return Promise.resolve(this.takeNow(key, burst, refillMs));
  }

  add(key: string, windowMs: number, by: number): Promise<WindowCount> {
    return Promise.resolve(this.addNow(key, windowMs, by));
  }

  /** Forgets every count (a Redis replica whose Redis is back counts there again). */
  clear(): void {
    this.buckets.clear();
    this.windows.clear();
  }
}
