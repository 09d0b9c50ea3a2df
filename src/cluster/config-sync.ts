/**
 * PROXY_WORKERS: the primary reloads the configuration and every worker follows. The primary
 * sends what it read (the merged environment and every file's content) and each worker loads
 * that same text with the same validation, so no worker can see a different version of a file
 * that is being rotated. Over the process's own IPC channel only, like the token.
 */
import cluster, { type Worker } from 'node:cluster';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Env } from '../config/load.js';
import type { AppReload } from '../reload/app-target.js';
import { Reloader } from '../reload/reloader.js';
import { replaySnapshot, type ConfigSnapshot } from '../reload/snapshot.js';
import { isOnChannel, sendIfConnected } from '../shared-state/ipc-message.js';

export const CONFIG_CHANNEL = 'suitecrm-proxy-config';

export type ConfigMessage =
  | { readonly channel: typeof CONFIG_CHANNEL; readonly type: 'apply'; readonly env: Env; readonly files: ReadonlyArray<readonly [string, string]> }
  /** The primary's reload failed: nothing changes, the workers only count it. */
  | { readonly channel: typeof CONFIG_CHANNEL; readonly type: 'failed' };

function isConfigMessage(value: unknown): value is ConfigMessage {
  return isOnChannel<ConfigMessage>(value, CONFIG_CHANNEL);
}

export const FAILED_MESSAGE: ConfigMessage = Object.freeze({ channel: CONFIG_CHANNEL, type: 'failed' });

export function applyMessage(snapshot: ConfigSnapshot): ConfigMessage {
  return { channel: CONFIG_CHANNEL, type: 'apply', env: snapshot.env, files: [...snapshot.files] };
}

export function sendConfig(worker: Worker, message: ConfigMessage): void {
  sendIfConnected(worker, message);
}

export function broadcastConfig(message: ConfigMessage): void {
  for (const worker of Object.values(cluster.workers ?? {})) if (worker) sendConfig(worker, message);
}

/** In a worker: applies what the primary sends; SIGHUP is the primary's to handle. */
export function followPrimary(initial: ConfigSnapshot, target: AppReload, logger: Logger): Reloader {
  let received: ConfigMessage & { type: 'apply' } | undefined;
  const reloader = new Reloader({
    initial,
    read: () => {
      if (received === undefined) throw new Error('no configuration received');
      return replaySnapshot(received.env, new Map(received.files));
    },
    targets: [target],
    logger,
    follower: true,
    onAttempt: (result) => {
      if (result.outcome !== 'unchanged') target.recordOutcome(result.outcome);
    },
  });
  process.on('message', (message: unknown) => {
    if (!isConfigMessage(message)) return;
    if (message.type === 'failed') {
      target.recordOutcome('failed');
      return;
    }
    received = message;
    void reloader.reload('primary');
  });
  // A terminal's SIGHUP reaches the whole process group: without a handler it would end the worker.
  process.on('SIGHUP', () => logger.debug({ event: 'sighup_ignored' }, 'SIGHUP: the primary process reloads the configuration and the workers follow'));
  return reloader;
}
