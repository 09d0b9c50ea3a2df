/**
 * The IPC protocol of the group scrape under PROXY_WORKERS, on its own channel tag so it never
 * mixes with the token protocol (messages.ts) or the configuration (config-sync.ts):
 * a worker that takes GET /_proxy/metrics sends `scrape`; the primary sends `collect` to every
 * worker, each answers with its registry as prom-client JSON (`snapshot`), and the primary answers
 * the scraping worker with the group's text (`exposition`).
 */
import type { Registry } from 'prom-client';
import { isOnChannel } from '../shared-state/ipc-message.js';

export const METRICS_CHANNEL = 'suitecrm-proxy-metrics';

/** How long the primary waits for the workers' answers; well under Prometheus's default 10 s scrape timeout. */
export const DEFAULT_COLLECT_TIMEOUT_MS = 2_000;

/** One process's metrics as prom-client's `getMetricsAsJSON()` returns them. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type WorkerMetricsMessage =
  /** The worker got a scrape: the primary answers with `exposition` and the same id. */
  | { readonly channel: typeof METRICS_CHANNEL; readonly type: 'scrape'; readonly id: number }
  /** The answer to `collect` round `round`. */
  | { readonly channel: typeof METRICS_CHANNEL; readonly type: 'snapshot'; readonly round: number; readonly metrics: MetricsSnapshot };

export type PrimaryMetricsMessage =
  | { readonly channel: typeof METRICS_CHANNEL; readonly type: 'collect'; readonly round: number }
  /** The group's Prometheus text; undefined when it could not be rendered (the scrape fails). */
  | { readonly channel: typeof METRICS_CHANNEL; readonly type: 'exposition'; readonly id: number; readonly text: string | undefined };

export function isMetricsMessage<T extends { channel: string }>(value: unknown): value is T {
  return isOnChannel<T>(value, METRICS_CHANNEL);
}
