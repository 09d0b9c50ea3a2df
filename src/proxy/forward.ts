/**
 * Sends one request to SuiteCRM with the current token, replays it once with a fresh token when
 * SuiteCRM answers 401, and retries an idempotent request once when a pooled keep-alive socket
 * turns out to be dead. Responses go back untouched apart from hop-by-hop headers.
 *
 * Hot path: with a cached token nothing here awaits a promise. Each request is one undici
 * `dispatch` with an Exchange as its handler (no Readable, no AsyncResource, no promise per
 * request, unlike `request()`); a small answer with a known length is collected and sent in one
 * write, anything else streams back with backpressure.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { networkErrorCode, ownErrorIn, upstreamError } from '../errors.js';
import type { CachedToken } from '../oauth/token-manager.js';
import type { TokenSource } from '../oauth/token-source.js';
import type { ProxyBody } from './body.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';

export interface ForwardOptions {
  readonly dispatcher: Dispatcher;
  /**
   * A dispatcher holding a new connection, for the one retry after a stale socket: another
   * pooled socket may be just as stale (every idle one is, behind a middlebox that dropped
   * them). Closed once its response has been read. Without it the retry uses `dispatcher`.
   */
  readonly freshConnection?: () => Dispatcher;
  readonly tokens: TokenSource;
  /** Path of SUITECRM_URL (e.g. `/legacy`), prepended to every request path. */
  readonly basePath: string;
  readonly hostHeader: string;
  readonly timeoutMs: number;
}

/** What happened to a request on its way, for the request log line and metrics. */
export interface ForwardOutcome {
  replayed: boolean;
  tokenWaited: boolean;
  /** Time SuiteCRM took to send the response headers of the answer passed back; -1 if none came. */
  upstreamMs: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** A kept-alive socket that the server closed meanwhile fails with one of these, before any answer. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
/** Answers up to this size (by Content-Length) are collected and written at once; larger ones stream. */
const COLLECT_LIMIT_BYTES = 64 * 1024;

function isStream(body: ProxyBody): body is Readable {
  return body !== undefined && !Buffer.isBuffer(body);
}

export class Forwarder {
  constructor(private readonly opts: ForwardOptions) {}

  /** Forwards the request; the answer (or the error) is sent on `reply` when it arrives. */
  forward(request: FastifyRequest, reply: FastifyReply, outcome: ForwardOutcome): void {
    const token = this.opts.tokens.current();
    if (token !== undefined) {
      this.send(request, reply, outcome, token, false);
      return;
    }
    outcome.tokenWaited = true;
    this.opts.tokens.get().then(
      (fresh) => this.send(request, reply, outcome, fresh, false),
      (err: unknown) => { reply.send(err); },
    );
  }

  /** One attempt upstream; `retried` marks the stale-socket retry, which is never repeated. */
  send(request: FastifyRequest, reply: FastifyReply, outcome: ForwardOutcome, token: CachedToken, retried: boolean): void {
    const { opts } = this;
    const body = request.body as ProxyBody;
    const exchange = new Exchange(this, request, reply, outcome, token, retried);
    const fresh = retried ? opts.freshConnection?.() : undefined;
    try {
      (fresh ?? opts.dispatcher).dispatch({
        method: request.method as Dispatcher.HttpMethod,
        path: opts.basePath + request.url,
        headers: upstreamRequestHeaders(request.headers, token.authorization, opts.hostHeader, Buffer.isBuffer(body) ? body.length : undefined),
        body: body ?? null,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      }, exchange);
      // Graceful: undici closes the one-off connection once this request's response has been read.
      fresh?.close().catch(() => undefined);
    } catch (err) {
      fresh?.destroy().catch(() => undefined);
      reply.send(upstreamError(err));
    }
  }

  /** SuiteCRM answered 401 and the request may be replayed: once, with whatever token comes next. */
  replay(request: FastifyRequest, reply: FastifyReply, outcome: ForwardOutcome): void {
    outcome.replayed = true;
    this.opts.tokens.get('rejected_401').then(
      (fresh) => this.send(request, reply, outcome, fresh, false),
      (err: unknown) => { reply.send(err); },
    );
  }

  get tokens(): TokenSource {
    return this.opts.tokens;
  }
}

/** The undici handler of one attempt: decides replay, collects or streams the answer. */
class Exchange implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  /** The answer is a 401 that will be replayed: its body is dropped. */
  private discard = false;
  /** Collected answer (small, known length); undefined when streaming. */
  private chunks: Buffer[] | undefined;
  private stream: Readable | undefined;

  constructor(
    private readonly forwarder: Forwarder,
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly outcome: ForwardOutcome,
    private readonly token: CachedToken,
    private readonly retried: boolean,
  ) {}

  /** For the upstream latency metric: when this attempt was handed to undici. */
  private readonly started = performance.now();

  onRequestStart(): void {
    /* nothing to set up: aborts come through the response stream */
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    const { forwarder, outcome, request } = this;
    const tokens = forwarder.tokens;
    this.status = statusCode;
    this.headers = headers;
    outcome.upstreamMs = performance.now() - this.started;
    if (statusCode === 401) {
      if (outcome.replayed) tokens.replayRejected(this.token);
      // rejected() first: it drops the token even when this streamed request cannot be replayed.
      else if (tokens.rejected(this.token) && !isStream(request.body as ProxyBody)) {
        this.discard = true;
        outcome.upstreamMs = -1; // the answer passed back will be the replay's
        return;
      }
    } else {
      tokens.accepted();
    }
    const length = headers['content-length'];
    const collect = typeof length === 'string' && Number(length) <= COLLECT_LIMIT_BYTES && headers['content-type'] !== undefined &&
      request.method !== 'HEAD' && statusCode !== 204 && statusCode !== 304;
    if (collect) {
      this.chunks = [];
      return;
    }
    // Stream: upstream reads pause while the caller is slow, and a caller that goes away aborts it.
    const stream = new Readable({
      read: () => controller.resume(),
      destroy: (err, callback) => {
        if (!controller.aborted) controller.abort(err ?? new Error('the caller went away'));
        callback(err);
      },
    });
    this.stream = stream;
    this.reply.code(statusCode).headers(downstreamResponseHeaders(headers)).send(stream);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.discard) return;
    if (this.chunks !== undefined) this.chunks.push(chunk);
    else if (this.stream !== undefined && !this.stream.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.discard) {
      this.forwarder.replay(this.request, this.reply, this.outcome);
      return;
    }
    const chunks = this.chunks;
    if (chunks !== undefined) {
      const payload = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      this.reply.code(this.status).headers(downstreamResponseHeaders(this.headers)).send(payload);
    } else {
      this.stream?.push(null);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.stream !== undefined) {
      // Headers are out already: all that is left is to cut the response short.
      this.stream.destroy(err);
      return;
    }
    const { request } = this;
    // A streamed body the proxy itself cut off (e.g. over the caller's size limit) is not SuiteCRM's fault.
    const own = ownErrorIn(err);
    if (own !== undefined) {
      this.reply.send(own);
      return;
    }
    const code = networkErrorCode(err);
    const retryable = this.status === 0 && !this.retried && code !== undefined && STALE_SOCKET_CODES.has(code) &&
      IDEMPOTENT.has(request.method) && !isStream(request.body as ProxyBody);
    if (retryable) {
      request.log.debug({ event: 'upstream_retry', cause: code }, 'retrying an idempotent request on a fresh connection');
      this.forwarder.send(request, this.reply, this.outcome, this.token, true);
      return;
    }
    this.reply.send(upstreamError(err));
  }
}
