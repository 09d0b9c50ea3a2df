/**
 * PROXY_WORKERS: the primary's side of the group scrape. A worker's `scrape` starts one
 * collection round (a scrape that arrives during a round shares it): every connected worker is
 * asked for its registry, and after all answered, or after `timeoutMs`, the group's text is
 * rendered from the answers held (group-metrics.ts) and the primary's own registry. A worker that
 * did not answer in time is counted with its last answer, logged and shown in
 * suitecrm_proxy_metrics_workers_unanswered; a worker that exits leaves its counts in the sums.
 * prom-client's own `clusterMetrics()` does the collecting part with the module-wide registries
 * of `setRegistries` (ours is per app), fails the whole scrape after 5 s, and forgets a worker that
 * died, so its counts would drop out of the sums: only its `aggregate` is used (group-metrics.ts).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { GroupMetrics } from './group-metrics.js';
import { DEFAULT_COLLECT_TIMEOUT_MS, METRICS_CHANNEL, type PrimaryMetricsMessage, type WorkerMetricsMessage } from './metrics-messages.js';

/** A worker as the collector sees it: its `worker` label and its IPC channel. */
export interface MetricsWorker {
  readonly label: string;
  isConnected(): boolean;
  send(message: PrimaryMetricsMessage): void;
}

export interface CollectorOptions {
  /** The primary's own registry (token metrics and its process figures). */
  readonly own: Registry;
  /** The live workers. */
  readonly workers: () => readonly MetricsWorker[];
  readonly logger: Logger;
  /** Told how many workers missed each round (a gauge in `own`). */
  readonly unanswered: (count: number) => void;
  readonly timeoutMs?: number;
}

/** The round being collected: the workers it still waits for. */
interface Round {
  readonly round: number;
  readonly waiting: Set<string>;
  readonly settled: () => void;
}

export class MetricsCollector {
  private readonly group: GroupMetrics;
  private rounds = 0;
  private current: Round | undefined;
  private rendering: Promise<string> | undefined;

  constructor(private readonly opts: CollectorOptions) {
    this.group = new GroupMetrics(opts.own.getMetricsAsArray().map((metric) => metric.name));
  }

  /** A message from `worker` on the metrics channel. */
  receive(worker: MetricsWorker, message: WorkerMetricsMessage): void {
    if (message.type === 'snapshot') {
      this.group.record(worker.label, message.round, message.metrics);
      if (this.current?.round === message.round) this.answered(worker.label);
      return;
    }
    this.exposition().then(
      (text) => worker.send({ channel: METRICS_CHANNEL, type: 'exposition', id: message.id, text }),
      (err: unknown) => {
        this.opts.logger.error({ err, event: 'metrics_render_failed' }, 'the group metrics could not be rendered');
        worker.send({ channel: METRICS_CHANNEL, type: 'exposition', id: message.id, text: undefined });
      });
  }

  /** The worker exited: nothing more to wait for from it, and its counts stay in the sums. */
  workerExited(label: string): void {
    this.group.retire(label);
    this.answered(label);
  }

  /** The group's Prometheus text; one collection round at a time, shared by concurrent scrapes. */
  exposition(): Promise<string> {
    this.rendering ??= this.collect().finally(() => {
      this.rendering = undefined;
    });
    return this.rendering;
  }

  private async collect(): Promise<string> {
    const unanswered = await this.askWorkers();
    this.opts.unanswered(unanswered.size);
    if (unanswered.size > 0) {
      this.opts.logger.warn({ event: 'metrics_workers_unanswered', workers: [...unanswered], timeoutMs: this.timeoutMs },
        'workers did not answer the metrics scrape in time; their counters are shown as they last answered');
    }
    const own = await this.opts.own.getMetricsAsJSON();
    return this.group.combine(own, unanswered).metrics();
  }

  /** Asks every connected worker; resolves with those that did not answer in time. */
  private askWorkers(): Promise<Set<string>> {
    const round = ++this.rounds;
    const workers = this.opts.workers().filter((worker) => worker.isConnected());
    const waiting = new Set(workers.map((worker) => worker.label));
    return new Promise((resolve) => {
      const settled = (): void => {
        clearTimeout(timer);
        this.current = undefined;
        resolve(waiting);
      };
      const timer = setTimeout(settled, this.timeoutMs);
      this.current = { round, waiting, settled };
      for (const worker of workers) worker.send({ channel: METRICS_CHANNEL, type: 'collect', round });
      if (waiting.size === 0) settled();
    });
  }

  private answered(label: string): void {
    const current = this.current;
    if (current === undefined || !current.waiting.delete(label)) return;
    if (current.waiting.size === 0) current.settled();
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? DEFAULT_COLLECT_TIMEOUT_MS;
  }
}
