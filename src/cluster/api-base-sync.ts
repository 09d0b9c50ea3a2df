/**
 * PROXY_WORKERS: the primary finds SuiteCRM's API (src/upstream/api-base.ts) and its workers
 * forward to what it found, so the token endpoint the primary's token managers use and the
 * paths the workers forward on always agree, and SuiteCRM is probed once per process group, not
 * once per worker. The primary tells every worker the base once found (and a worker started later
 * when it listens); a worker that needs it before then asks. Over the process's own IPC channel.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { ApiDetectionError, DetectedApiBase, type ApiBaseSource, type ApiBaseSourceKind, type ApiBaseState } from '../upstream/api-base.js';
import { tokenPool } from '../upstream/pools.js';

export const API_BASE_CHANNEL = 'suitecrm-proxy-api-base';

export type ApiBaseMessage =
  /** A worker asks for the base. */
  | { readonly channel: typeof API_BASE_CHANNEL; readonly type: 'get' }
  /** The primary's answer, or its news once it found the base. */
  | { readonly channel: typeof API_BASE_CHANNEL; readonly type: 'base'; readonly apiBase: string; readonly source: ApiBaseSourceKind | null }
  | { readonly channel: typeof API_BASE_CHANNEL; readonly type: 'error'; readonly failureClass: 'transient' | 'misconfigured';
      readonly reason: string; readonly detail: string; readonly retryAfterMs: number | undefined };

export function isApiBaseMessage(value: unknown): value is ApiBaseMessage {
  return typeof value === 'object' && value !== null && (value as { channel?: unknown }).channel === API_BASE_CHANNEL;
}

function baseMessage(api: DetectedApiBase, apiBase: string): ApiBaseMessage {
  return { channel: API_BASE_CHANNEL, type: 'base', apiBase, source: api.state().source };
}

/**
 * In the primary: the group's API base, detected now over a pool of its own (the token managers'
 * pools belong to their credentials); every worker is told the base as soon as it is found.
 */
export function groupApiBase(config: Config, logger: Logger): { readonly api: DetectedApiBase; close(): Promise<void> } {
  const probes = tokenPool(config);
  const api = new DetectedApiBase({ ...config, timeoutMs: config.tokenRequestTimeoutMs }, probes, logger);
  api.onFound((apiBase) => {
    for (const worker of Object.values(cluster.workers ?? {})) if (worker?.isConnected()) worker.send(baseMessage(api, apiBase));
  });
  void api.start();
  return { api, close: () => probes.close() };
}

/** In the primary: what to tell `worker` about the base, now (when known) and when it asks. */
export function serveApiBase(api: DetectedApiBase, worker: Worker): void {
  const send = (message: ApiBaseMessage): void => { if (worker.isConnected()) worker.send(message); };
  worker.once('listening', () => {
    const known = api.current();
    if (known !== undefined) send(baseMessage(api, known));
  });
  worker.on('message', (message: unknown) => {
    if (!isApiBaseMessage(message) || message.type !== 'get') return;
    api.resolve().then(
      (apiBase) => send(baseMessage(api, apiBase)),
      (err: unknown) => {
        const failure = err instanceof ApiDetectionError ? err : new ApiDetectionError('transient', 'unexpected', 'the detection of SuiteCRM\'s API failed unexpectedly', []);
        send({ channel: API_BASE_CHANNEL, type: 'error', failureClass: failure.failureClass, reason: failure.reason, detail: failure.detail, retryAfterMs: failure.retryAfterMs });
      });
  });
}

export interface ApiBaseChannel {
  send(message: ApiBaseMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** In a worker: the primary's base (or SUITECRM_API_BASE, which needs no asking). */
export class PrimaryApiBase implements ApiBaseSource {
  private base: string | undefined;
  private source: ApiBaseSourceKind | null = null;
  private waiter: { resolve(base: string): void; reject(err: Error): void; timer: NodeJS.Timeout } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly channel: ApiBaseChannel, config: Pick<Config, 'basePath' | 'apiBase'>, private readonly answerTimeoutMs: number) {
    if (config.apiBase !== undefined) {
      this.base = config.basePath + config.apiBase;
      this.source = 'SUITECRM_API_BASE';
    }
    channel.onMessage((message) => {
      if (isApiBaseMessage(message)) this.receive(message);
    });
  }

  current(): string | undefined {
    return this.base;
  }

  state(): ApiBaseState {
    return { base: this.base ?? null, source: this.source };
  }

  resolve(): Promise<string> {
    if (this.base !== undefined) return Promise.resolve(this.base);
    // One question at a time; every request waiting for the base shares its answer.
    this.pending ??= new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ApiDetectionError('transient', 'timeout', 'the primary process is still looking for SuiteCRM\'s API; try again shortly', []));
      }, this.answerTimeoutMs);
      this.waiter = { resolve, reject, timer };
      this.channel.send({ channel: API_BASE_CHANNEL, type: 'get' });
    }).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private receive(message: ApiBaseMessage): void {
    const waiter = this.waiter;
    if (message.type === 'get') return;
    this.waiter = undefined;
    if (waiter !== undefined) clearTimeout(waiter.timer);
    if (message.type === 'base') {
      this.base = message.apiBase;
      this.source = message.source;
      waiter?.resolve(message.apiBase);
      return;
    }
    const err = new ApiDetectionError(message.failureClass, message.reason, message.detail, []);
    err.retryAfterMs = message.retryAfterMs;
    waiter?.reject(err);
  }
}
