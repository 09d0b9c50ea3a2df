/**
 * undici interceptor: puts the current token of the request's SuiteCRM credential (the one its
 * caller is mapped to, held by its exchange) on the request. With a cached token this
 * is synchronous (the hot path); only when none is usable does the request wait for the renewal
 * that every waiting request shares. A token that cannot be had fails the request with the
 * TokenSource's ProxyError (TOKEN_UNAVAILABLE, CREDENTIALS_REJECTED), which reaches
 * @fastify/reply-from's onError as the cause of its error.
 */
import type { Dispatcher } from 'undici';
import type { CachedToken } from '../suitecrm-token/token.js';
import { callerGoneError, exchangeOf, type Exchange } from './exchange.js';

type Dispatch = Dispatcher['dispatch'];

function send(dispatch: Dispatch, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, token: CachedToken, exchange: Exchange): boolean {
  // Its caller hung up while it waited for a token (or before it was forwarded): SuiteCRM never sees it.
  if (exchange.callerGone) {
    handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, callerGoneError());
    return true;
  }
  // The headers object is this request's own copy (reply-from made it); an attempt's headers are
  // read when undici builds its request, so a replay may set the header again on the same object.
  (opts.headers as Record<string, string>).authorization = token.authorization;
  exchange.token = token;
  exchange.sentAt = performance.now();
  return dispatch(opts, handler);
}

export function injectToken(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const exchange = exchangeOf(opts);
    // Only the proxy route's requests carry a credential; anything else gets no token at all.
    if (exchange === undefined) return dispatch(opts, handler);
    const tokens = exchange.tokens;
    const token = tokens.current();
    if (token !== undefined) return send(dispatch, opts, handler, token, exchange);
    if (!exchange.replayed) exchange.tokenWaited = true;
    // One catch for both: no token, or a dispatch that threw synchronously.
    tokens.get(exchange.replayed ? 'rejected_401' : 'cold')
      .then((fresh) => send(dispatch, opts, handler, fresh, exchange))
      .catch((err: Error) => handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, err));
    return true;
  };
}
