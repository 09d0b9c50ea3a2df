/**
 * The two-step contract every part that takes part in a reload implements: prepare builds
 * everything the new configuration needs and may fail (nothing has changed yet); commit swaps it
 * in and cannot fail. The reloader commits only when every part prepared, so a reload changes
 * everything that can change while running, or nothing.
 */
import type { Config } from '../config/load.js';
import type { ConfigDiff } from './diff.js';

export interface PreparedChange {
  /** Swaps the prepared state in; synchronous, so no request sees half of it. */
  commit(): void;
  /** Releases what prepare built (e.g. a warmed TokenManager) when another part failed. */
  abort(): Promise<void>;
}

export interface ReloadTarget {
  prepare(next: Config, diff: ConfigDiff): Promise<PreparedChange>;
}

/** A part could not take the new configuration; names the setting, never a value. */
export class ReloadApplyError extends Error {
  readonly code = 'CONFIG_RELOAD_FAILED';
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ReloadApplyError';
  }
}

export const NOTHING_TO_DO: PreparedChange = Object.freeze({ commit: () => undefined, abort: async () => undefined });

/** Prepares every target; if one fails, the others' preparations are released and it rethrows. */
export async function prepareAll(targets: readonly ReloadTarget[], next: Config, diff: ConfigDiff): Promise<PreparedChange> {
  const results = await Promise.allSettled(targets.map((target) => target.prepare(next, diff)));
  const prepared = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(prepared.map((p) => p.abort()));
    throw failed.reason;
  }
  return {
    commit: () => { for (const p of prepared) p.commit(); },
    abort: async () => { await Promise.all(prepared.map((p) => p.abort())); },
  };
}
