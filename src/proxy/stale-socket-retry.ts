/**
 * undici interceptor: an idempotent request whose pooled keep-alive socket turns out to be dead
 * (the server or a middlebox closed it meanwhile: reset or EPIPE before any answer) is sent once
 * more, on a new connection. undici's own retry interceptor would retry on the same pool, where
 * every other idle socket may be just as stale; and it retries on statuses too, which the proxy
 * must never do (SuiteCRM's 503 goes back to the caller as it is).
 * POST and PATCH are never re-sent: SuiteCRM may have applied them.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { networkErrorCode } from '../errors.js';
import { isReplayableBody } from './exchange.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** A kept-alive socket that the server closed meanwhile fails with one of these, before any answer. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

class StaleSocketRetryHandler implements Dispatcher.DispatchHandler {
  private answered = false;
  private retried = false;

  constructor(
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly freshConnection: () => Dispatcher,
    private readonly log: Logger | undefined,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.handler.onRequestStart?.(controller, context);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    this.answered = true;
    this.handler.onResponseStart?.(controller, statusCode, headers as never, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.handler.onResponseEnd?.(controller, trailers as never);
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    const code = networkErrorCode(err);
    if (this.answered || this.retried || code === undefined || !STALE_SOCKET_CODES.has(code)) {
      this.handler.onResponseError?.(controller, err);
      return;
    }
    this.retried = true;
    this.log?.debug({ event: 'upstream_retry', cause: code }, 'retrying an idempotent request on a fresh connection');
    const fresh = this.freshConnection();
    try {
      fresh.dispatch(this.opts, this);
      // Graceful: undici closes the one-off connection once this request's response has been read.
      fresh.close().catch(() => undefined);
    } catch (dispatchError) {
      fresh.destroy().catch(() => undefined);
      this.handler.onResponseError?.(controller, dispatchError as Error);
    }
  }
}

export function retryStaleSocket(freshConnection: () => Dispatcher, log?: Logger): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    if (!IDEMPOTENT.has(opts.method) || !isReplayableBody(opts.body)) return dispatch(opts, handler);
    return dispatch(opts, new StaleSocketRetryHandler(opts, handler, freshConnection, log));
  };
}
