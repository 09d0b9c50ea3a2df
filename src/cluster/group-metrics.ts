/**
 * The figures of a PROXY_WORKERS process group, combined with prom-client's own cluster
 * aggregation (`AggregatorRegistry.aggregate`, each metric's `aggregator`), from each worker's
 * last answer and the primary's own registry. docs/metrics.md has the rules per metric:
 * - per-process figures (isPerProcessMetric) get a `worker` label instead of being combined;
 * - the metrics the primary exports (the token's, the reloads') are the primary's alone: a
 *   worker's copies of them (zeros, or its copy of the token) are left out;
 * - everything else is combined by its aggregator (`sum` unless its definition says otherwise).
 * A worker that exits leaves its counters and histograms in the sums (`retire`), so a counter
 * never goes back when a worker is replaced; a worker that did not answer in time is counted
 * with its last answer.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import { isPerProcessMetric } from '../admin/metric-names.js';
import type { MetricsSnapshot } from './metrics-messages.js';

type Metric = MetricsSnapshot[number];

export const WORKER_LABEL = 'worker';
/** The `worker` label of the primary's own per-process figures; workers have their cluster id. */
export const PRIMARY_WORKER = 'primary';

/** Counts that only grow: what a worker that exits leaves in the group's sums. */
function isCount(metric: Metric): boolean {
  const type = metric.type as unknown as string;
  return (type === 'counter' || type === 'histogram') && metric.aggregator === 'sum' && !isPerProcessMetric(metric.name);
}

/** One process's per-process figures with its `worker` label; its aggregator is then moot (labels differ). */
function labelled(metric: Metric, worker: string): Metric {
  if (!isPerProcessMetric(metric.name)) return metric;
  return { ...metric, aggregator: 'sum', values: metric.values.map((value) => ({ ...value, labels: { ...value.labels, [WORKER_LABEL]: worker } })) };
}

/** prom-client's aggregation, kept as JSON: `aggregate` builds its registry synchronously. */
function summed(parts: MetricsSnapshot[]): MetricsSnapshot {
  // Each metric of the aggregated registry is its aggregated JSON object (plus a `get`).
  return AggregatorRegistry.aggregate(parts).getMetricsAsArray() as unknown as MetricsSnapshot;
}

export class GroupMetrics {
  /** Each live worker's last answer and the collection round it answered. */
  private readonly latest = new Map<string, { readonly round: number; readonly metrics: MetricsSnapshot }>();
  /** The counters and histograms of every worker that exited, summed. */
  private retired: MetricsSnapshot = [];

  /** The names of the metrics that are the primary's alone. */
  private readonly primaryOwned: ReadonlySet<string>;

  /** @param primaryNames the names of the metrics the primary's registry exports. */
  constructor(primaryNames: Iterable<string>) {
    this.primaryOwned = new Set([...primaryNames].filter((name) => !isPerProcessMetric(name)));
  }

  /**
   * A worker's answer to collection round `round`, as it arrived over IPC (a copy the group may
   * keep; prom-client's own JSON shares objects with the live metrics). An answer older than the
   * one held is ignored.
   */
  record(worker: string, round: number, metrics: MetricsSnapshot): void {
    const held = this.latest.get(worker);
    if (held !== undefined && held.round >= round) return;
    this.latest.set(worker, { round, metrics: metrics.filter((metric) => !this.primaryOwned.has(metric.name)) });
  }

  /** The worker exited: its counts stay in the sums; its gauges and per-process figures go. */
  retire(worker: string): void {
    const last = this.latest.get(worker);
    this.latest.delete(worker);
    if (last !== undefined) this.retired = summed([this.retired, last.metrics.filter(isCount)]);
  }

  /** The workers whose answers are held. */
  workers(): string[] {
    return [...this.latest.keys()];
  }

  /**
   * The group's registry: the primary's figures, each live worker's last answer (only the counts
   * of those in `unanswered`, whose gauges would be stale) and the retired counts.
   */
  combine(primary: MetricsSnapshot, unanswered: ReadonlySet<string> = new Set()): Registry {
    const parts: MetricsSnapshot[] = [];
    for (const [worker, { metrics }] of this.latest) {
      const shown = unanswered.has(worker) ? metrics.filter(isCount) : metrics;
      parts.push(shown.map((metric) => labelled(metric, worker)));
    }
    parts.push(primary.map((metric) => labelled(metric, PRIMARY_WORKER)), this.retired);
    return AggregatorRegistry.aggregate(parts);
  }
}
