/**
 * What a PROXY_WORKERS worker adds to buildApp: each credential's tokens, where SuiteCRM's API is
 * and the group's shared state (sessions, limits) come from the primary over IPC, its scrapes show
 * the whole group's metrics (the primary collects them), and its log lines say which worker wrote them.
 */
import cluster from 'node:cluster';
import type { AppOptions } from '../app.js';
import type { Config } from '../config/load.js';
import { createLogger } from '../logging.js';
import { PrimaryLink } from '../shared-state/primary-link.js';
import type { StateHome } from '../shared-state/state-home.js';
import { PrimaryApiBase } from './api-base-sync.js';
import { ClusterTokenClients } from './token-clients.js';
import { groupMetricsExposition } from './worker-metrics.js';

/** Options for buildApp in a worker; undefined when this process is not a cluster worker. */
export function workerAppOptions(config: Config): AppOptions | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  const sendToPrimary = process.send.bind(process);
  // The token clients, the shared state and the metrics each read their own channel's messages off the one IPC link.
  const onMessage = (listener: (message: unknown) => void): void => { process.on('message', listener); };
  const answerTimeoutMs = config.tokenRequestTimeoutMs * 3;
  const tokenSources = new ClusterTokenClients({ send: (message) => { sendToPrimary(message); }, onMessage }, config.credentials.map((c) => c.name), answerTimeoutMs);
  const primary = new PrimaryLink({ send: (message) => { sendToPrimary(message); }, onMessage }, answerTimeoutMs);
  const stateHome: StateHome = { kind: 'primary', primary };
  const apiBase = new PrimaryApiBase(primary, config);
  const logger = createLogger(config.logLevel).child({ worker: cluster.worker?.id });
  const metricsChannel = { send: (message: unknown) => { if (process.connected) sendToPrimary(message); }, onMessage };
  return {
    tokenSources, apiBase, logger, stateHome,
    followCredentials: (next) => tokenSources.follow(next.credentials.map((c) => c.name)),
    metricsExposition: (registry) => groupMetricsExposition(registry, metricsChannel, logger),
  };
}
