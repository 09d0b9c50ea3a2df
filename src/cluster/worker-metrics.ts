/**
 * PROXY_WORKERS: a worker's side of the group scrape. It answers the primary's `collect` with its
 * registry as prom-client JSON, and serves GET /_proxy/metrics with the group's text, which it asks
 * the primary for (metrics-collector.ts). No answer in time fails the scrape (503
 * METRICS_UNAVAILABLE) rather than showing this worker's counts alone, which Prometheus would
 * read as a counter reset.
 */
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Registry } from 'prom-client';
import { ProxyError } from '../errors.js';
import { DEFAULT_COLLECT_TIMEOUT_MS, isMetricsMessage, METRICS_CHANNEL, type PrimaryMetricsMessage, type WorkerMetricsMessage } from './metrics-messages.js';

/** Beyond the primary's own wait for the workers: its rendering and the IPC round trip. */
const ANSWER_SLACK_MS = 3_000;

export interface MetricsChannel {
  send(message: WorkerMetricsMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** Answers the primary's collection rounds from `registry`; returns what a scrape answers. */
export function groupMetricsExposition(registry: Registry, channel: MetricsChannel, logger: Logger,
  answerTimeoutMs = DEFAULT_COLLECT_TIMEOUT_MS + ANSWER_SLACK_MS): () => Promise<string> {
  const waiting = new Map<number, (text: string | undefined) => void>();
  let nextId = 1;
  channel.onMessage((message) => {
    if (!isMetricsMessage<PrimaryMetricsMessage>(message)) return;
    if (message.type === 'exposition') return waiting.get(message.id)?.(message.text);
    const { round } = message;
    registry.getMetricsAsJSON().then(
      (metrics) => channel.send({ channel: METRICS_CHANNEL, type: 'snapshot', round, metrics }),
      // A metric whose collect throws is a bug; the primary counts this worker as unanswered.
      (err: unknown) => logger.error({ err, event: 'metrics_collect_failed' }, 'this worker\'s metrics could not be read'));
  });
  return () => {
    const id = nextId++;
    return new Promise<string>((resolve, reject) => {
      const settle = (text: string | undefined, failure = 'the primary process could not render the group\'s metrics; see its log'): void => {
        clearTimeout(timer);
        waiting.delete(id);
        if (text !== undefined) return resolve(text);
        reject(new ProxyError('METRICS_UNAVAILABLE', failure, { retryAfterSeconds: 1 }));
      };
      const timer = setTimeout(() => settle(undefined, `the primary process sent no metrics within ${answerTimeoutMs} ms; see its log`), answerTimeoutMs);
      waiting.set(id, settle);
      channel.send({ channel: METRICS_CHANNEL, type: 'scrape', id });
    });
  };
}
