/**
 * Runs reloads one at a time: read and validate the whole configuration, work out what changed,
 * prepare every part, then commit all of them or none. A configuration that does not validate,
 * or that a part cannot take (a new credential that gets no token), changes nothing: the proxy
 * keeps serving with what it had and logs `config_reload_failed` naming the setting.
 */
import type { FastifyBaseLogger as Logger } from 'fastify';
import { levels } from 'pino';
import type { Config } from '../config/load.js';
import { diffConfig, effectiveConfig, isEmptyDiff, type ConfigDiff } from './diff.js';
import type { ConfigSnapshot } from './snapshot.js';
import { prepareAll, type ReloadTarget } from './target.js';

/** What asked for the reload; logged with it. */
export type ReloadTrigger = 'SIGHUP' | 'file_changed' | 'credentials_rejected' | 'primary';

export type ReloadResult =
  | { readonly outcome: 'success'; readonly diff: ConfigDiff; readonly snapshot: ConfigSnapshot }
  | { readonly outcome: 'failed'; readonly setting: string }
  /** Only for credentials_rejected: nothing on disk changed, so nothing was done or logged. */
  | { readonly outcome: 'unchanged' };

export interface ReloaderOptions {
  /** The configuration the process started with. */
  readonly initial: ConfigSnapshot;
  /** Reads and validates the configuration again; throws ConfigError. `files` collects what it read. */
  readonly read: (files: Map<string, string>) => ConfigSnapshot;
  readonly targets: readonly ReloadTarget[];
  readonly logger: Logger;
  /** Called after every reload that was attempted, with what it read (for the watcher). */
  readonly onAttempt?: (result: ReloadResult, files: ReadonlyMap<string, string>) => void;
  /** PROXY_WORKERS workers follow their primary: their lines are debug-level, the primary's are the record. */
  readonly follower?: boolean;
}

function settingOf(err: unknown): string | undefined {
  const setting = (err as { setting?: unknown }).setting;
  return typeof setting === 'string' ? setting : undefined;
}

export class Reloader {
  private accepted: ConfigSnapshot;
  private running: Config;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly opts: ReloaderOptions) {
    this.accepted = opts.initial;
    this.running = opts.initial.config;
    this.log = opts.logger.child({ component: 'reload' });
  }

  /** The configuration in effect (settings that need a restart keep their start-up values). */
  get config(): Config {
    return this.running;
  }

  /** Queues a reload behind any running one, so two never interleave. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const run = this.queue.then(() => this.attempt(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async attempt(trigger: ReloadTrigger): Promise<ReloadResult> {
    const files = new Map<string, string>();
    let result: ReloadResult;
    try {
      const next = this.opts.read(files);
      const diff = diffConfig(this.accepted, next);
      if (trigger === 'credentials_rejected' && isEmptyDiff(diff)) return { outcome: 'unchanged' };
      const config = effectiveConfig(this.running, next.config);
      const prepared = await prepareAll(this.opts.targets, config, diff);
      // A reload that raises LOG_LEVEL must still show its own line: written before or after, whichever level lets it through.
      const logged = this.logSuccess(trigger, diff);
      prepared.commit();
      if (!logged) this.logSuccess(trigger, diff);
      this.accepted = next;
      this.running = config;
      result = { outcome: 'success', diff, snapshot: next };
    } catch (err) {
      const setting = settingOf(err);
      if (setting === undefined) this.log.error({ event: 'config_reload_failed', trigger, err }, 'reloading the configuration failed unexpectedly; nothing changed');
      else this.log.error({ event: 'config_reload_failed', trigger, setting, reason: (err as Error).message }, `invalid configuration, nothing changed (still serving with the previous one): ${(err as Error).message}`);
      result = { outcome: 'failed', setting: setting ?? 'unknown' };
    }
    this.opts.onAttempt?.(result, files);
    return result;
  }

  /** Returns false when the current level drops the line. */
  private logSuccess(trigger: ReloadTrigger, diff: ConfigDiff): boolean {
    const line = {
      event: this.opts.follower ? 'config_applied' : 'config_reloaded',
      trigger,
      changed: diff.changed,
      restartRequired: diff.restartRequired,
      callersAdded: diff.callersAdded,
      callersRemoved: diff.callersRemoved,
      callersChanged: diff.callersChanged,
      credential: diff.credential,
      credentials: diff.credentials,
    };
    const restart = diff.restartRequired.length === 0 ? '' : `; ${diff.restartRequired.join(', ')} changed but take effect only after a restart`;
    const message = `configuration reloaded: ${diff.changed.length === 0 ? 'nothing changed' : diff.changed.join(', ')}${restart}`;
    const level = this.opts.follower ? 'debug' : diff.restartRequired.length > 0 ? 'warn' : 'info';
    if (levels.values[level]! < (levels.values[this.log.level] ?? Infinity)) return false;
    this.log[level](line, message);
    return true;
  }
}
