/**
 * The record of one proxied request on its way through the undici interceptors: the SuiteCRM
 * credential whose tokens it may carry, which token it carried, whether it waited for one or was
 * replayed, how long SuiteCRM took. The route creates it from the caller; the interceptors fill
 * it in; the request log line and the metrics read it.
 *
 * It travels as a symbol-keyed property of the upstream headers object, because that object is
 * the only thing @fastify/reply-from hands from its `rewriteRequestHeaders` hook to the
 * dispatcher (it copies headers with Object.assign, which keeps symbol keys; undici reads only
 * string keys, so the record is never sent). test/proxy/forwarding-options.test.ts guards that path.
 */
import { errors, type Dispatcher } from 'undici';
import type { CachedToken, TokenSource } from '../suitecrm-token/token.js';

/** What happened to a request on its way, for the request log line and metrics. */
export interface ForwardOutcome {
  replayed: boolean;
  tokenWaited: boolean;
  /** Time SuiteCRM took to send the response headers of the answer passed back; -1 if none came. */
  upstreamMs: number;
}

export interface Exchange extends ForwardOutcome {
  /** The SuiteCRM credential of the request's caller: its name (for the log line) and its tokens. */
  readonly credential: string;
  /** Where every attempt of this request, the replay included, takes its token: never another credential's. */
  readonly tokens: TokenSource;
  /** The token the current attempt carries (set by the token injection). */
  token: CachedToken | undefined;
  /** performance.now() when the current attempt was handed to the connection pool. */
  sentAt: number;
  /** The caller hung up (caller-gone.ts): no attempt may start, the one in flight is aborted. */
  callerGone: boolean;
  /** The current attempt's undici controller, once undici has started it: how it is aborted. */
  controller: Dispatcher.DispatchController | undefined;
}

const EXCHANGE = Symbol('suitecrm-auth-proxy.exchange');

type HeadersWithExchange = Record<string, string | string[]> & { [EXCHANGE]?: Exchange };

export function newExchange(credential: string, tokens: TokenSource): Exchange {
  return { credential, tokens, replayed: false, tokenWaited: false, upstreamMs: -1, token: undefined, sentAt: 0, callerGone: false, controller: undefined };
}

/** Why an abandoned exchange's upstream request ends; never reaches anyone (the caller is gone). */
export function callerGoneError(): Error {
  return new errors.RequestAbortedError('the caller closed the connection before its answer');
}

/**
 * The caller hung up: the attempt in flight is aborted (undici closes its connection to SuiteCRM,
 * so SuiteCRM stops too) and no further attempt (a token wait, a replay) is sent.
 */
export function abandonExchange(exchange: Exchange): void {
  exchange.callerGone = true;
  exchange.controller?.abort(callerGoneError());
}

export function attachExchange(headers: Record<string, string | string[]>, exchange: Exchange): Record<string, string | string[]> {
  (headers as HeadersWithExchange)[EXCHANGE] = exchange;
  return headers;
}

/** The exchange of a dispatch, or undefined for requests that did not come through the proxy route. */
export function exchangeOf(opts: Dispatcher.DispatchOptions): Exchange | undefined {
  const headers = opts.headers as HeadersWithExchange | null | undefined;
  return headers?.[EXCHANGE];
}

/** Bytes in hand (or no body) can be sent twice; a stream cannot. */
export function isReplayableBody(body: Dispatcher.DispatchOptions['body']): boolean {
  return body === undefined || body === null || typeof body === 'string' || Buffer.isBuffer(body);
}
