/**
 * Wires reloads into a process that reads its own configuration (a single process, or the
 * PROXY_WORKERS primary): SIGHUP, the file watcher, and the one re-read after SuiteCRM rejected
 * the credentials all go through one Reloader.
 */
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { FileReader } from '../config/load.js';
import type { CredentialSet } from './credential-set.js';
import { Reloader, type ReloadResult } from './reloader.js';
import { readSnapshot, type ConfigSnapshot, type ConfigSource } from './snapshot.js';
import type { ReloadTarget } from './target.js';
import { FileWatcher } from './watcher.js';

export interface ReloadingOptions {
  readonly source: ConfigSource;
  readonly initial: ConfigSnapshot;
  readonly targets: readonly ReloadTarget[];
  readonly logger: Logger;
  readonly readFile: FileReader;
  /** The credentials whose rejection re-reads the secret files once. */
  readonly credentials?: CredentialSet;
  /** After every attempted reload (metrics, readiness, workers). */
  readonly onResult?: (result: ReloadResult) => void;
}

export interface Reloading {
  readonly reloader: Reloader;
  close(): void;
}

export function startReloading(opts: ReloadingOptions): Reloading {
  const watcher = new FileWatcher({
    readFile: opts.readFile,
    pollMs: opts.initial.config.configPollMs,
    onChange: () => { void reloader.reload('file_changed'); },
  });
  const reloader = new Reloader({
    initial: opts.initial,
    read: (files) => readSnapshot(opts.source, opts.readFile, files),
    targets: opts.targets,
    logger: opts.logger,
    onAttempt: (result, files) => {
      watcher.watch(files, reloader.config.configPollMs);
      opts.onResult?.(result);
    },
  });
  watcher.watch(opts.initial.files);
  // SIGHUP is also an operator's "try again now": a credential still paused after the reload is retried once.
  const onSignal = (): void => {
    void reloader.reload('SIGHUP').then((result) => { if (result.outcome === 'success') opts.credentials?.retryPaused(); });
  };
  process.on('SIGHUP', onSignal);
  opts.credentials?.onRejectedReread(async () => {
    await reloader.reload('credentials_rejected');
  });
  return {
    reloader,
    close: () => {
      process.off('SIGHUP', onSignal);
      watcher.close();
    },
  };
}
