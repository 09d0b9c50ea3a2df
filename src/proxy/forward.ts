/**
 * Sends one request to SuiteCRM with the current token, replays it once with a fresh token when
 * SuiteCRM answers 401, and retries an idempotent request once when a pooled keep-alive socket
 * turns out to be dead. Responses stream back untouched apart from hop-by-hop headers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { networkErrorCode, ownErrorIn, upstreamError } from '../errors.js';
import type { CachedToken, TokenManager } from '../oauth/token-manager.js';
import type { ProxyBody } from './body.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';

export interface ForwardOptions {
  readonly dispatcher: Dispatcher;
  readonly tokens: TokenManager;
  /** Path of SUITECRM_URL (e.g. `/legacy`), prepended to every request path. */
  readonly basePath: string;
  readonly hostHeader: string;
  readonly timeoutMs: number;
}

/** What happened to a request on its way, for the request log line and metrics. */
export interface ForwardOutcome {
  replayed: boolean;
  tokenWaited: boolean;
  /** How long SuiteCRM took to send the response headers passed back; -1 without an answer. */
  upstreamMs: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** A kept-alive socket that the server closed meanwhile fails with one of these, before any answer. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

export class Forwarder {
  constructor(private readonly opts: ForwardOptions) {}

  private send(request: FastifyRequest, body: ProxyBody, token: CachedToken): Promise<Dispatcher.ResponseData> {
    const { opts } = this;
    return opts.dispatcher.request({
      method: request.method as Dispatcher.HttpMethod,
      path: opts.basePath + request.url,
      headers: upstreamRequestHeaders(request.headers, token.authorization, opts.hostHeader, Buffer.isBuffer(body) ? body.length : undefined),
      body: body ?? null,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  /** Sends, retrying once on a stale keep-alive socket when that is safe. */
  private async sendSafely(request: FastifyRequest, body: ProxyBody, token: CachedToken): Promise<Dispatcher.ResponseData> {
    try {
      return await this.send(request, body, token);
    } catch (err) {
      // A streamed body the proxy itself cut off (e.g. over the caller's size limit) is not SuiteCRM's fault.
      const own = ownErrorIn(err);
      if (own !== undefined) throw own;
      const code = networkErrorCode(err);
      const retryable = code !== undefined && STALE_SOCKET_CODES.has(code) && IDEMPOTENT.has(request.method) && !isStream(body);
      if (!retryable) throw upstreamError(err);
      request.log.debug({ event: 'upstream_retry', cause: code }, 'retrying an idempotent request on a fresh connection');
      try {
        return await this.send(request, body, token);
      } catch (retryErr) {
        throw upstreamError(retryErr);
      }
    }
  }

  async forward(request: FastifyRequest, reply: FastifyReply, outcome: ForwardOutcome): Promise<void> {
    const { tokens } = this.opts;
    const body = request.body as ProxyBody;
    let token = tokens.current();
    if (token === undefined) {
      outcome.tokenWaited = true;
      token = await tokens.get();
    }
    let started = performance.now();
    let response = await this.sendSafely(request, body, token);
    outcome.upstreamMs = performance.now() - started;
    if (response.statusCode === 401) {
      const mayReplay = tokens.rejected(token) && !isStream(body);
      if (mayReplay) {
        await response.body.dump();
        outcome.replayed = true;
        outcome.upstreamMs = -1;
        token = await tokens.get('rejected_401');
        started = performance.now();
        response = await this.sendSafely(request, body, token);
        outcome.upstreamMs = performance.now() - started;
        if (response.statusCode === 401) tokens.replayRejected(token);
        else tokens.accepted();
      }
    } else {
      tokens.accepted();
    }
    reply.code(response.statusCode);
    reply.headers(downstreamResponseHeaders(response.headers));
    return reply.send(response.body);
  }
}

function isStream(body: ProxyBody): boolean {
  return body !== undefined && !Buffer.isBuffer(body);
}
