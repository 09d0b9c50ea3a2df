/**
 * A bounded load of mixed requests through the proxy: reads (GET), creates and uploads (POST),
 * updates (PATCH) and deletes, with JSON bodies of varying sizes. Every request carries a unique
 * id in `x-drill-id` (and in its body), so the SuiteCRM double's records show whether it arrived,
 * how often, byte-identical or not, and whether it was applied. Every request has a client
 * timeout; one that runs into it is a hang and counts as a failure.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEED_ACCOUNT_IDS } from '../fake-suitecrm.js';

export const DRILL_ID_HEADER = 'x-drill-id';
/** Fastify's own answer (return503OnClosing) to a request arriving on an open socket while it closes. */
export const FASTIFY_CLOSING = 'FASTIFY_503_CLOSING';
const FASTIFY_CLOSING_BODY = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}';
const JSON_API = 'application/vnd.api+json';

export type RequestKind = 'get' | 'list' | 'current-user' | 'create' | 'update' | 'upload' | 'delete';

/** How a request ended, as the caller saw it. */
export interface ClientResult {
  readonly id: string;
  readonly kind: RequestKind;
  readonly method: string;
  readonly sentLength: number;
  readonly sentSha256: string;
  /** performance.now() of the test process. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** HTTP status, if an answer arrived. */
  readonly status: number | undefined;
  /**
   * 'ok' (SuiteCRM's expected success, body checked), 'upstream <status>' (SuiteCRM's own
   * non-success answer), a proxy error code from `x-suitecrm-proxy-error`, 'HANG' (client
   * timeout), 'BAD_RESPONSE' (wrong or truncated success body) or a client socket error code.
   */
  readonly outcome: string;
  readonly ok: boolean;
}

export interface LoadOptions {
  readonly baseUrl: string;
  /** Concurrent callers. */
  readonly workers: number;
  /** Pause of each caller between two requests. */
  readonly pauseMs: number;
  /** Per-request client timeout (AbortSignal.timeout), covering the answer and its body. */
  readonly clientTimeoutMs: number;
  /** Seed of the request mix and body sizes, so a run can be repeated. */
  readonly seed?: number;
  /** Called with every finished request (the soak aggregates instead of keeping them). */
  readonly onResult?: (result: ClientResult) => void;
  /** Keep every result in `results` (default true). */
  readonly keepResults?: boolean;
  /** Sent with every request, e.g. a caller's proxy key. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** mulberry32: a small seeded PRNG, enough for a reproducible request mix. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The mix, as cumulative weights. Deletes need an earlier create; without one they become gets. */
const MIX: ReadonlyArray<[RequestKind, number]> = [
  ['get', 0.25], ['list', 0.35], ['current-user', 0.40], ['create', 0.65], ['update', 0.80], ['upload', 0.90], ['delete', 1],
];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function filler(random: () => number, min: number, max: number): string {
  const length = Math.floor(min + random() * (max - min));
  // Mostly ASCII with some multi-byte characters, so byte and character lengths differ.
  const unit = 'lorem ipsum dolor sit amet €ü ';
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

interface PlannedRequest {
  /** Unique per request: sent in `x-drill-id`, and inside every body. */
  id: string;
  kind: RequestKind;
  method: string;
  path: string;
  body: Buffer<ArrayBuffer> | undefined;
  /** Checks a 2xx body; false means the answer was wrong or truncated. */
  check: (status: number, body: Buffer) => boolean;
}

const jsonOf = (body: Buffer): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
const dataOf = (body: Buffer): Record<string, unknown> | undefined => jsonOf(body)?.data as Record<string, unknown> | undefined;

export class LoadGenerator {
  readonly results: ClientResult[] = [];
  private readonly random: () => number;
  private readonly created: string[] = [];
  private running = false;
  private workers: Array<Promise<void>> = [];
  private counter = 0;
  private readonly runId: string;

  constructor(private readonly opts: LoadOptions) {
    this.random = prng(opts.seed ?? 0x5eed);
    this.runId = Math.floor(this.random() * 0xffffff).toString(16).padStart(6, '0');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.opts.workers }, (_, i) => this.worker(i));
  }

  /** Stops issuing requests and waits for those in flight (each ends by its client timeout at the latest). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async worker(index: number): Promise<void> {
    // Stagger the start so the callers do not move in lockstep.
    await sleep(Math.floor((index * this.opts.pauseMs) / Math.max(1, this.opts.workers)));
    while (this.running) {
      const result = await this.issue(this.plan());
      if (this.opts.keepResults !== false) this.results.push(result);
      this.opts.onResult?.(result);
      await sleep(this.opts.pauseMs);
    }
  }

  private plan(): PlannedRequest {
    const r = this.random();
    let kind = (MIX.find(([, weight]) => r < weight) ?? MIX[0]!)[0];
    if (kind === 'delete' && this.created.length === 0) kind = 'get';
    const seedId = SEED_ACCOUNT_IDS[Math.floor(this.random() * SEED_ACCOUNT_IDS.length)]!;
    const id = this.nextId();
    switch (kind) {
      case 'get':
        return {
          id, kind, method: 'GET', path: `/Api/V8/module/Accounts/${seedId}?fields[Accounts]=name`, body: undefined,
          check: (status, body) => status === 200 && dataOf(body)?.id === seedId,
        };
      case 'list':
        return {
          id, kind, method: 'GET', path: '/Api/V8/module/Contacts?page[size]=5', body: undefined,
          check: (status, body) => status === 200 && Array.isArray(dataOf(body)),
        };
      case 'current-user':
        return {
          id, kind, method: 'GET', path: '/Api/V8/current-user', body: undefined,
          check: (status, body) => status === 200 && dataOf(body)?.id !== undefined,
        };
      case 'delete': {
        const recordId = this.created.shift()!;
        return {
          id, kind, method: 'DELETE', path: `/Api/V8/module/Accounts/${recordId}`, body: undefined,
          check: (status) => status === 200,
        };
      }
      default:
        return this.planWithBody(kind, seedId, id);
    }
  }

  private planWithBody(kind: 'create' | 'update' | 'upload', seedId: string, marker: string): PlannedRequest {
    if (kind === 'create') {
      const body = Buffer.from(JSON.stringify({ data: { type: 'Accounts', attributes: { name: marker, description: filler(this.random, 50, 4000) } } }));
      return {
        id: marker, kind, method: 'POST', path: '/Api/V8/module', body,
        check: (status, answer) => {
          const data = dataOf(answer);
          const ok = status === 201 && (data?.attributes as Record<string, unknown> | undefined)?.name === marker;
          if (ok) this.created.push(String(data?.id));
          return ok;
        },
      };
    }
    if (kind === 'update') {
      const body = Buffer.from(JSON.stringify({ data: { type: 'Accounts', id: seedId, attributes: { description: `${marker} ${filler(this.random, 50, 16_000)}` } } }));
      return {
        id: marker, kind, method: 'PATCH', path: '/Api/V8/module', body,
        check: (status, answer) => status === 201 && dataOf(answer)?.id === seedId,
      };
    }
    // Larger bodies go to the echo route, which hashes instead of storing: the answer proves the bytes.
    const body = Buffer.from(JSON.stringify({ marker, blob: filler(this.random, 16_000, 256_000) }));
    const expected = sha256(body);
    return {
      id: marker, kind, method: 'POST', path: '/Api/V8/custom/echo', body,
      check: (status, answer) => status === 200 && (jsonOf(answer)?.bodySha256 === expected),
    };
  }

  private nextId(): string {
    this.counter += 1;
    return `drill-${this.runId}-${this.counter}`;
  }

  private async issue(planned: PlannedRequest): Promise<ClientResult> {
    const { id } = planned;
    const startedAt = performance.now();
    const base = {
      id, kind: planned.kind, method: planned.method, startedAt,
      sentLength: planned.body?.length ?? 0, sentSha256: sha256(planned.body ?? Buffer.alloc(0)),
    };
    let status: number | undefined;
    try {
      const res = await fetch(this.opts.baseUrl + planned.path, {
        method: planned.method,
        headers: { ...this.opts.headers, [DRILL_ID_HEADER]: id, accept: JSON_API, ...(planned.body ? { 'content-type': JSON_API } : {}) },
        body: planned.body,
        signal: AbortSignal.timeout(this.opts.clientTimeoutMs),
      });
      status = res.status;
      const answer = Buffer.from(await res.arrayBuffer());
      const proxyCode = res.headers.get('x-suitecrm-proxy-error');
      let outcome: string;
      if (proxyCode !== null) outcome = proxyCode;
      else if (status === 503 && answer.toString('utf8') === FASTIFY_CLOSING_BODY) outcome = FASTIFY_CLOSING;
      else if (status >= 200 && status < 300) outcome = planned.check(status, answer) ? 'ok' : 'BAD_RESPONSE';
      else outcome = `upstream ${status}`;
      return { ...base, endedAt: performance.now(), status, outcome, ok: outcome === 'ok' };
    } catch (err) {
      return { ...base, endedAt: performance.now(), status, outcome: clientErrorCode(err), ok: false };
    }
  }
}

/** 'HANG' for our own timeout, else the socket error code (ECONNREFUSED, UND_ERR_SOCKET, ...). */
export function clientErrorCode(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    const e = current as { name?: unknown; code?: unknown; cause?: unknown };
    if (e.name === 'TimeoutError') return 'HANG';
    if (typeof e.code === 'string') return e.code;
    current = e.cause;
  }
  return 'CLIENT_ERROR';
}
