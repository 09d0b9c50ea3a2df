/**
 * Notices when a file the configuration was read from changes: the config file, every
 * `<NAME>_FILE`, caller key files. File events (on each file's directory, so a Kubernetes
 * Secret volume swapping its `..data` symlink is seen too) make it quick where they work; a poll
 * every CONFIG_POLL_SECONDS makes it certain where they do not (some volume types, NFS).
 * It compares contents, not timestamps: a rewrite with the same content is no change.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { FileReader } from '../config/load.js';
import { filesDigest, UNREADABLE } from './snapshot.js';

/** File events come in bursts (write, rename, chmod): check once they have settled. */
const EVENT_SETTLE_MS = 100;

export interface FileWatcherOptions {
  readonly readFile: FileReader;
  readonly pollMs: number;
  /** Called once per change; the watcher waits for watch() before it reports another. */
  readonly onChange: () => void;
}

export class FileWatcher {
  private paths: readonly string[] = [];
  private baseline = '';
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private pollMs: number;
  private paused = false;
  private closed = false;

  constructor(private readonly opts: FileWatcherOptions) {
    this.pollMs = opts.pollMs;
  }

  /** Watches these files, as they were when last read; a later difference is a change. */
  watch(files: ReadonlyMap<string, string>, pollMs = this.pollMs): void {
    if (this.closed) return;
    this.paths = [...files.keys()];
    this.baseline = filesDigest(files);
    this.paused = false;
    const dirs = new Set(this.paths.map((path) => dirname(path)));
    for (const [dir, watcher] of this.watchers) {
      if (!dirs.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) if (!this.watchers.has(dir)) this.watchDir(dir);
    if (this.timer === undefined || pollMs !== this.pollMs) {
      clearInterval(this.timer);
      this.pollMs = pollMs;
      this.timer = setInterval(() => this.check(), pollMs).unref();
    }
  }

  /** Reads every watched file and reports a change once. */
  check(): void {
    if (this.paused || this.closed || this.paths.length === 0) return;
    const now = new Map<string, string>();
    for (const path of this.paths) {
      try {
        now.set(path, this.opts.readFile(path));
      } catch {
        now.set(path, UNREADABLE);
      }
    }
    if (filesDigest(now) === this.baseline) return;
    // One reload per change: the next watch() (after that reload) sets the new baseline.
    this.paused = true;
    this.opts.onChange();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.settle);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private watchDir(dir: string): void {
    try {
      const watcher = watch(dir, { persistent: false }, () => {
        clearTimeout(this.settle);
        this.settle = setTimeout(() => this.check(), EVENT_SETTLE_MS).unref();
      });
      // A directory that goes away (or a volume without events) leaves the poll to do the work.
      watcher.on('error', () => {
        watcher.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, watcher);
    } catch {
      // No events here: the poll covers it.
    }
  }
}
