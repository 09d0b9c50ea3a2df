/**
 * Where SuiteCRM's V8 API lives, as a path from SUITECRM_URL's origin (`/Api`, `/legacy/Api`):
 * SUITECRM_API_BASE when set, else detected (api-detection.ts) by the process that owns the
 * tokens (a single proxy, or the PROXY_WORKERS primary, which hands it to its workers so they
 * all agree: src/cluster/api-base-sync.ts). Proxied requests go to this base plus their
 * canonical path, and the token endpoint is this base's `/access_token` unless
 * SUITECRM_TOKEN_PATH says otherwise.
 *
 * Detection runs at start-up; when SuiteCRM cannot be reached then, the first request that needs
 * the base (a token request, a proxied request) runs it again, single-flight, and a failure is
 * remembered for a growing pause so a SuiteCRM outage is not met with a probe per request.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { ProxyError } from '../errors.js';
import { ApiDetectionError, detectApiBase, type DetectionSettings } from './api-detection.js';

export { ApiDetectionError };

/** Where the base came from: the setting, or detection (in this process or the PROXY_WORKERS primary). */
export type ApiBaseSourceKind = 'SUITECRM_API_BASE' | 'detected';

export interface ApiBaseState {
  /** The path from SUITECRM_URL's origin, e.g. `/legacy/Api`; null until known. */
  readonly base: string | null;
  readonly source: ApiBaseSourceKind | null;
}

/** What the proxy route, the token side and readiness know of the API base. */
export interface ApiBaseSource {
  /** The base once known; synchronous, for the hot path. */
  current(): string | undefined;
  /** The base, detecting it (or asking the primary) when unknown; rejects with an ApiDetectionError. */
  resolve(): Promise<string>;
  state(): ApiBaseState;
}

export interface ApiBaseSettings extends DetectionSettings {
  /** SUITECRM_API_BASE, relative to SUITECRM_URL; undefined: detect. */
  readonly apiBase: string | undefined;
}

/** SUITECRM_API_BASE as a path from SUITECRM_URL's origin (it is written relative to SUITECRM_URL); undefined: detect. */
export function configuredApiBase(settings: Pick<ApiBaseSettings, 'basePath' | 'apiBase'>): string | undefined {
  return settings.apiBase === undefined ? undefined : settings.basePath + settings.apiBase;
}

/** What detection reads from the configuration: the token requests' timeout bounds each probe. */
export type ApiDetectionConfig = Omit<ApiBaseSettings, 'timeoutMs'> & { readonly tokenRequestTimeoutMs: number };

/** After a failed detection, callers are answered from memory for this long (doubling). */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** A failed detection as the proxy answers it: 503 TOKEN_UNAVAILABLE, like every failure to reach the token endpoint. */
export function apiUnavailable(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const detection = err instanceof ApiDetectionError ? err : undefined;
  const detail = detection?.detail ?? 'SuiteCRM\'s API could not be found; see the proxy log';
  return new ProxyError('TOKEN_UNAVAILABLE', `SuiteCRM's V8 API was not found: ${detail}`, { retryAfterSeconds: (detection?.retryAfterMs ?? RETRY_BASE_MS) / 1000 });
}

/** The base in the process that owns it: configured, or detected through SuiteCRM's connection pool. */
export class DetectedApiBase implements ApiBaseSource {
  private base: string | undefined;
  private source: ApiBaseSourceKind | null = null;
  private pending: Promise<string> | undefined;
  private failure: ApiDetectionError | undefined;
  private failures = 0;
  private retryAt = 0;
  private readonly log: Logger;
  private readonly found: Array<(base: string) => void> = [];

  constructor(
    private readonly settings: ApiBaseSettings,
    private readonly dispatcher: Dispatcher,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ component: 'suitecrm-api' });
    this.base = configuredApiBase(settings);
    if (this.base !== undefined) this.source = 'SUITECRM_API_BASE';
  }

  current(): string | undefined {
    return this.base;
  }

  state(): ApiBaseState {
    return { base: this.base ?? null, source: this.source };
  }

  /** Called once a base is detected (the PROXY_WORKERS primary tells its workers). */
  onFound(listener: (base: string) => void): void {
    this.found.push(listener);
  }

  resolve(): Promise<string> {
    if (this.base !== undefined) return Promise.resolve(this.base);
    if (this.failure !== undefined && this.now() < this.retryAt) {
      this.failure.retryAfterMs = this.retryAt - this.now();
      return Promise.reject(this.failure);
    }
    this.pending ??= this.detect().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** At start-up: names the configured base, or detects it; logs either way and never rejects. */
  async start(): Promise<void> {
    if (this.base !== undefined) {
      this.log.info({ event: 'suitecrm_api_base', apiBase: this.base, source: this.source }, `SuiteCRM's V8 API is at ${this.describe(this.base)} (SUITECRM_API_BASE)`);
      return;
    }
    await this.resolve().catch(() => undefined);
  }

  private describe(base: string): string {
    return `${this.settings.suitecrmUrl.origin}${base}`;
  }

  private async detect(): Promise<string> {
    try {
      const { apiBase, tried } = await detectApiBase(this.settings, this.dispatcher);
      this.base = apiBase;
      this.source = 'detected';
      this.failure = undefined;
      this.failures = 0;
      this.log.info({ event: 'suitecrm_api_base', apiBase, source: this.source, tried }, `SuiteCRM's V8 API is at ${this.describe(apiBase)} (detected)`);
      for (const listener of this.found) listener(apiBase);
      return apiBase;
    } catch (raw) {
      const err = raw instanceof ApiDetectionError ? raw : new ApiDetectionError('transient', 'unexpected', 'the detection of SuiteCRM\'s API failed unexpectedly', []);
      this.failures += 1;
      const pause = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(this.failures - 1, 10));
      this.retryAt = this.now() + pause;
      err.retryAfterMs = pause;
      this.failure = err;
      this.log.warn({ event: 'suitecrm_api_detection_failed', failureClass: err.failureClass, cause: err.reason, tried: err.tried, retryInMs: pause }, err.detail);
      throw err;
    }
  }
}

/** The base detected over `dispatcher`, its detection started now in the background: the proxy listens meanwhile. */
export function startApiDetection(config: ApiDetectionConfig, dispatcher: Dispatcher, logger: Logger): DetectedApiBase {
  const api = new DetectedApiBase({ ...config, timeoutMs: config.tokenRequestTimeoutMs }, dispatcher, logger);
  void api.start();
  return api;
}
