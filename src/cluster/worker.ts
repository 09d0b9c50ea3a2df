/**
 * What a PROXY_WORKERS worker adds to buildApp: each credential's tokens, where SuiteCRM's API is
 * and the group's shared state (sessions, limits) come from the primary over IPC, its scrapes show
 * the whole group's metrics (the primary collects them), and its log lines say which worker wrote them.
 */
import cluster from 'node:cluster';
import type { AppOptions } from '../app.js';
import type { Config } from '../config/load.js';
import { createLogger } from '../logging.js';
import { PrimaryApiBase } from './api-base-sync.js';
import { primaryHome } from './group-state.js';
import { ClusterTokenClients } from './token-clients.js';
import { groupMetricsExposition } from './worker-metrics.js';

/** Options for buildApp in a worker; undefined when this process is not a cluster worker. */
export function workerAppOptions(config: Config): AppOptions | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  const sendToPrimary = process.send.bind(process);
  const tokenSources = new ClusterTokenClients({
    send: (message) => { sendToPrimary(message); },
    onMessage: (listener) => { process.on('message', listener); },
  }, config.credentials.map((c) => c.name), config.tokenRequestTimeoutMs * 3);
  const stateHome = primaryHome(config.tokenRequestTimeoutMs * 3);
  const apiBase = new PrimaryApiBase(stateHome?.kind === 'primary' ? stateHome.primary : undefined, config);
  const logger = createLogger(config.logLevel).child({ worker: cluster.worker?.id });
  const metricsChannel = {
    send: (message: unknown) => { if (process.connected) sendToPrimary(message); },
    onMessage: (listener: (message: unknown) => void) => { process.on('message', listener); },
  };
  return {
    tokenSources, apiBase, logger, stateHome,
    followCredentials: (next) => tokenSources.follow(next.credentials.map((c) => c.name)),
    metricsExposition: (registry) => groupMetricsExposition(registry, metricsChannel, logger),
  };
}
