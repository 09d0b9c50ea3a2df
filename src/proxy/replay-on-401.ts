/**
 * undici interceptor: when SuiteCRM answers 401 to a request that carried the current token, the
 * token is dropped and the request is sent once more, through the token injection below, with
 * the token that comes next for the same credential (the exchange's, so never another's). The 401 (headers and body) never reaches the caller when the
 * replay goes ahead; its body bytes are the same (a body is replayable only when it is held as
 * bytes: up to REPLAY_BODY_LIMIT_BYTES). A replay that gets 401 too goes back to the caller and
 * arms the 401 loop guard. Same shape as undici's own redirect handler: swallow, re-dispatch.
 *
 * Outermost of the three interceptors, so it also measures the upstream time of the answer that
 * is passed back.
 */
import type { Dispatcher } from 'undici';
import { callerGoneError, exchangeOf, isReplayableBody, type Exchange } from './exchange.js';

class ReplayOn401Handler implements Dispatcher.DispatchHandler {
  /** This attempt's 401 is being replayed: its body is dropped. */
  private swallowing = false;

  constructor(
    private readonly dispatch: Dispatcher['dispatch'],
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly exchange: Exchange,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.exchange.controller = controller;
    this.handler.onRequestStart?.(controller, context);
    // Queued in the pool while its caller hung up: never sent.
    if (this.exchange.callerGone) controller.abort(callerGoneError());
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: import('node:stream').Duplex): void {
    this.handler.onRequestUpgrade?.(controller, statusCode, headers as never, socket);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    const exchange = this.exchange;
    const tokens = exchange.tokens;
    const token = exchange.token;
    if (statusCode === 401 && token !== undefined) {
      if (exchange.replayed) tokens.replayRejected(token);
      // rejected() first: it drops the token even when a streamed request cannot be replayed.
      else if (tokens.rejected(token) && isReplayableBody(this.opts.body)) {
        this.swallowing = true;
        return;
      }
    } else if (statusCode !== 401 && token !== undefined) {
      tokens.accepted(token);
    }
    exchange.upstreamMs = performance.now() - exchange.sentAt;
    this.handler.onResponseStart?.(controller, statusCode, headers as never, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.swallowing) this.handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    if (!this.swallowing) {
      this.handler.onResponseEnd?.(controller, trailers as never);
      return;
    }
    this.swallowing = false;
    this.exchange.replayed = true;
    try {
      this.dispatch(this.opts, this);
    } catch (err) {
      this.handler.onResponseError?.(controller, err as Error);
    }
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    // Aborted because its caller hung up: nobody is left to answer, and reply-from would log it as a failure.
    if (this.exchange.callerGone) return;
    this.handler.onResponseError?.(controller, err);
  }
}

export function replayOn401(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const exchange = exchangeOf(opts);
    // Requests that did not come through the proxy route carry no token of ours to replay.
    if (exchange === undefined) return dispatch(opts, handler);
    return dispatch(opts, new ReplayOn401Handler(dispatch, opts, handler, exchange));
  };
}
