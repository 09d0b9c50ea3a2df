/**
 * PROXY_WORKERS: the primary's metrics. Its own registry holds the token metrics of the
 * TokenManagers it owns, the configuration reloads it runs, its workers' exits, the scrape's own
 * health and its process figures; every worker's scrape shows them with the workers' figures
 * (metrics-collector.ts collects, group-metrics.ts combines).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { METRIC_PREFIX } from '../admin/metric-names.js';
import { configReloadCounter, type ReloadOutcome } from '../admin/reload-metrics.js';
import { TokenMetrics } from '../admin/token-metrics.js';
import { MetricsCollector, type MetricsWorker } from './metrics-collector.js';
import { isMetricsMessage, type WorkerMetricsMessage } from './metrics-messages.js';
import { sendIfConnected } from '../shared-state/ipc-message.js';

/** A worker as the collector sees it: labelled with its cluster id, as in its log lines. */
function metricsWorker(worker: Worker): MetricsWorker {
  return { label: String(worker.id), isConnected: () => worker.isConnected(), send: (message) => sendIfConnected(worker, message) };
}

function liveWorkers(): MetricsWorker[] {
  return Object.values(cluster.workers ?? {}).flatMap((worker) => (worker === undefined ? [] : [metricsWorker(worker)]));
}

export class PrimaryMetrics {
  readonly registry = new Registry();
  readonly tokens = new TokenMetrics(this.registry);
  readonly configReloaded: (outcome: ReloadOutcome) => void = configReloadCounter(this.registry);
  private readonly replaced = new Counter({
    name: `${METRIC_PREFIX}workers_replaced_total`, help: 'PROXY_WORKERS: workers that exited while the group ran and were replaced; their counts stay in the sums.',
    registers: [this.registry],
  });

  private readonly unanswered = new Gauge({
    name: `${METRIC_PREFIX}metrics_workers_unanswered`,
    help: 'PROXY_WORKERS: workers that did not answer this scrape in time; their counters and histograms are shown as they last answered, their gauges not at all.',
    registers: [this.registry],
  });

  private readonly collector: MetricsCollector;

  constructor(logger: Logger) {
    collectDefaultMetrics({ register: this.registry });
    this.collector = new MetricsCollector({ own: this.registry, workers: liveWorkers, logger, unanswered: (n) => this.unanswered.set(n) });
  }

  /** Handles a worker's message if it is on the metrics channel; ignores any other. */
  receive(worker: Worker, message: unknown): void {
    if (isMetricsMessage<WorkerMetricsMessage>(message)) this.collector.receive(metricsWorker(worker), message);
  }

  /** The worker exited: its counts stay in the group's sums; `replaced` while the group runs. */
  workerExited(worker: Worker, replaced: boolean): void {
    this.collector.workerExited(String(worker.id));
    if (replaced) this.replaced.inc();
  }
}
