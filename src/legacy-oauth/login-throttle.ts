/**
 * Failed logins at the local token endpoint, counted per client address in fixed one-minute
 * windows. Past LOCAL_LOGIN_FAILURES_PER_MINUTE, further token requests from that address are
 * refused (429) without looking at their credentials until the window ends, so secrets and
 * passwords cannot be guessed at network speed. SuiteCRM itself has no such limit (§8.5).
 * Memory is bounded: at most MAX_ADDRESSES addresses are tracked, least recently seen dropped.
 */
import { LRUCache } from 'lru-cache';

const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

interface Window {
  failures: number;
  readonly endsAt: number;
}

export class LoginThrottle {
  private readonly windows: LRUCache<string, Window>;
  private readonly now: () => number;

  /** `maxFailures` 0 turns the throttle off. */
  constructor(private readonly maxFailures: number, now?: () => number) {
    this.now = now ?? Date.now;
    this.windows = new LRUCache({ max: MAX_ADDRESSES, ttl: WINDOW_MS, perf: { now: this.now } });
  }

  /** Seconds until `address` may try again, or undefined when it may try now. */
  blockedFor(address: string): number | undefined {
    if (this.maxFailures === 0) return undefined;
    const window = this.windows.get(address);
    const now = this.now();
    if (window === undefined || now >= window.endsAt || window.failures < this.maxFailures) return undefined;
    return Math.max(1, Math.ceil((window.endsAt - now) / 1000));
  }

  failed(address: string): void {
    if (this.maxFailures === 0) return;
    const now = this.now();
    const window = this.windows.get(address);
    if (window === undefined || now >= window.endsAt) this.windows.set(address, { failures: 1, endsAt: now + WINDOW_MS });
    else window.failures++;
  }
}
