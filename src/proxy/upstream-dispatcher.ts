/**
 * The dispatcher @fastify/reply-from forwards on: the API pool with the SuiteCRM steps composed
 * on it as undici interceptors (`Dispatcher.compose`, last one outermost):
 *
 *   replay on 401  ->  inject the token  ->  retry a stale socket  ->  pool
 *
 * The replay sits outside the injection so its second attempt gets the next token; the stale
 * retry sits inside it so a retry keeps the token of its attempt. Both token steps take the
 * tokens of the request's own credential from its exchange (exchange.ts), so one dispatcher
 * serves every credential.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { UpstreamConnections } from '../upstream/pools.js';
import { injectToken } from './inject-token.js';
import { replayOn401 } from './replay-on-401.js';
import { retryStaleSocket } from './stale-socket-retry.js';

export function suitecrmDispatcher(connections: UpstreamConnections, log?: Logger): Dispatcher {
  return connections.api.compose(
    retryStaleSocket(connections.fresh, log),
    injectToken(),
    replayOn401(),
  );
}
