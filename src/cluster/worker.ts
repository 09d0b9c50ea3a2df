/**
 * What a PROXY_WORKERS worker adds to buildApp: each credential's tokens and where SuiteCRM's API
 * is come from the primary over IPC, and its log lines say which worker wrote them.
 */
import cluster from 'node:cluster';
import type { AppOptions } from '../app.js';
import type { Config } from '../config/load.js';
import { createLogger } from '../logging.js';
import { PrimaryApiBase } from './api-base-sync.js';
import { ClusterTokenClients } from './token-clients.js';

/** Options for buildApp in a worker; undefined when this process is not a cluster worker. */
export function workerAppOptions(config: Config): AppOptions | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  const sendToPrimary = process.send.bind(process);
  const tokenSources = new ClusterTokenClients({
    send: (message) => { sendToPrimary(message); },
    onMessage: (listener) => { process.on('message', listener); },
  }, config.credentials.map((c) => c.name), config.tokenRequestTimeoutMs * 3);
  const apiBase = new PrimaryApiBase({
    send: (message) => { sendToPrimary(message); },
    onMessage: (listener) => { process.on('message', listener); },
  }, config, config.tokenRequestTimeoutMs * 3);
  const logger = createLogger(config.logLevel).child({ worker: cluster.worker?.id });
  return { tokenSources, apiBase, logger, followCredentials: (next) => tokenSources.follow(next.credentials.map((c) => c.name)) };
}
