/**
 * PROXY_WORKERS: the primary finds SuiteCRM's API (src/upstream/api-base.ts) and its workers
 * forward to what it found, so the token endpoint the primary's token managers use and the paths
 * the workers forward on always agree, and SuiteCRM is probed once per group, not once per worker.
 * It travels as the `api-base` service of the group's shared state (src/shared-state/primary-link.ts):
 * a worker asks when it starts (the answer waits for a detection in flight), and the primary
 * pushes the base to every worker once it is found.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { PrimaryLink, PrimaryServices } from '../shared-state/primary-link.js';
import { ApiDetectionError, configuredApiBase, startApiDetection, type ApiBaseSource, type DetectedApiBase, type ApiBaseSourceKind, type ApiBaseState } from '../upstream/api-base.js';
import { tokenPool } from '../upstream/pools.js';

export const API_BASE_SERVICE = 'api-base';

/** What travels: the base, or why there is none yet (names and paths only, never a secret). */
type ApiBaseAnswer =
  | { readonly base: string; readonly source: ApiBaseSourceKind | null }
  | { readonly failureClass: 'transient' | 'misconfigured'; readonly reason: string; readonly detail: string; readonly retryAfterMs: number | undefined };

async function answerOf(api: DetectedApiBase): Promise<ApiBaseAnswer> {
  try {
    const base = await api.resolve();
    return { base, source: api.state().source };
  } catch (err) {
    // DetectedApiBase rejects only with ApiDetectionErrors (detect() converts anything else).
    const failure = err as ApiDetectionError;
    return { failureClass: failure.failureClass, reason: failure.reason, detail: failure.detail, retryAfterMs: failure.retryAfterMs };
  }
}

/**
 * In the primary: the group's API base, detected now over a pool of its own (the token managers'
 * pools belong to their credentials), served to the workers and pushed to them once found.
 */
export function groupApiBase(config: Config, logger: Logger, services: PrimaryServices): { readonly api: DetectedApiBase; close(): Promise<void> } {
  const probes = tokenPool(config);
  const api = startApiDetection(config, probes, logger);
  services.serve(API_BASE_SERVICE, { resolve: () => answerOf(api) });
  api.onFound((base) => services.push(API_BASE_SERVICE, { base, source: api.state().source } satisfies ApiBaseAnswer));
  return { api, close: () => probes.close() };
}

/** In a worker: the primary's base (or SUITECRM_API_BASE, which needs no asking). */
export class PrimaryApiBase implements ApiBaseSource {
  private base: string | undefined;
  private source: ApiBaseSourceKind | null = null;
  private pending: Promise<string> | undefined;

  constructor(private readonly link: PrimaryLink, config: Pick<Config, 'basePath' | 'apiBase'>) {
    this.base = configuredApiBase(config);
    if (this.base !== undefined) {
      this.source = 'SUITECRM_API_BASE';
      return;
    }
    link.onPush(API_BASE_SERVICE, (value) => this.learn(value as ApiBaseAnswer));
    // Asked at once, so the first request rarely waits for it.
    this.resolve().catch(() => undefined);
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
    this.pending ??= this.ask().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async ask(): Promise<string> {
    let answer: ApiBaseAnswer;
    try {
      answer = await this.link.call<ApiBaseAnswer>(API_BASE_SERVICE, 'resolve');
    } catch {
      throw new ApiDetectionError('transient', 'primary_unavailable', 'the primary process did not say where SuiteCRM\'s API is in time; try again shortly', []);
    }
    const base = this.learn(answer);
    if (base !== undefined) return base;
    const failure = answer as Exclude<ApiBaseAnswer, { base: string }>;
    const err = new ApiDetectionError(failure.failureClass, failure.reason, failure.detail, []);
    err.retryAfterMs = failure.retryAfterMs;
    throw err;
  }

  private learn(answer: ApiBaseAnswer): string | undefined {
    if (!('base' in answer)) return undefined;
    this.base = answer.base;
    this.source = answer.source;
    return answer.base;
  }
}
