/**
 * SharedCounters of a PROXY_WORKERS group: a worker asks the primary, which keeps the group's one
 * copy (in its memory, or in Redis when the group is one member of a fleet), so a caller's rate
 * limit and the failed-login throttles count once for the group. If the primary does not answer
 * (it is going away), the worker counts in its own memory rather than failing the request.
 */
import type { BucketTake, SharedCounters, WindowCount } from './counters.js';
import { MemoryCounters } from './memory-counters.js';
import type { PrimaryLink, StateService } from './primary-link.js';

/** The name of the counters service in the primary (cluster/group-state.ts serves it). */
export const COUNTERS_SERVICE = 'counters';

/** A worker's side. */
export class PrimaryCounters implements SharedCounters {
  private readonly local: MemoryCounters;

  constructor(private readonly primary: PrimaryLink, now?: () => number) {
    this.local = new MemoryCounters(now);
  }

  async take(key: string, burst: number, refillMs: number): Promise<BucketTake> {
    try {
      return await this.primary.call<BucketTake>(COUNTERS_SERVICE, 'take', key, burst, refillMs);
    } catch {
      return this.local.takeNow(key, burst, refillMs);
    }
  }

  async add(key: string, windowMs: number, by: number): Promise<WindowCount> {
    try {
      return await this.primary.call<WindowCount>(COUNTERS_SERVICE, 'add', key, windowMs, by);
    } catch {
      return this.local.addNow(key, windowMs, by);
    }
  }
}

/** The primary's side: answers its workers from `counters`, the group's one copy. */
export function countersService(counters: SharedCounters): StateService {
  return {
    take: (key: string, burst: number, refillMs: number) => counters.take(key, burst, refillMs),
    add: (key: string, windowMs: number, by: number) => counters.add(key, windowMs, by),
  };
}
