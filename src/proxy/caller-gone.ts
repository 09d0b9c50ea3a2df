/**
 * A caller that hangs up before its answer is complete (it aborted, timed out, or its connection
 * was reset; while its request waited for a token, waited for SuiteCRM, or while the answer
 * streamed) still ends its request like any other: one request line at info with status 499
 * (nginx's "client closed request"; nobody receives it), counted in the request metrics, and the
 * request to SuiteCRM is aborted so no work is left running for nobody.
 *
 * Fastify runs onResponse only for a response that finished, so the response's 'close' event is
 * watched here (onRequestAbort would miss a caller that leaves while the answer streams). A
 * pipelined request's response has no socket until the one before it is done, and Node emits
 * nothing on it when the connection closes first: those are watched through the connection.
 * Both ends go through firstEnd(), so a request has exactly one line however it ends; the
 * onResponse hooks are synchronous, so a finished response has written its line before its 'close'.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { refusedStatus } from '../security/refused-connection.js';
import { abandonExchange } from './exchange.js';

/** nginx's status for a request whose client closed the connection first. */
export const CALLER_CLOSED_STATUS = 499;

const REPLY = Symbol('suitecrm-auth-proxy.reply');
const ENDED = Symbol('suitecrm-auth-proxy.ended');
const GONE = Symbol('suitecrm-auth-proxy.caller-gone');
const QUEUED = Symbol('suitecrm-auth-proxy.queued-responses');

type WatchedResponse = ServerResponse & { [REPLY]?: FastifyReply; [ENDED]?: true; [GONE]?: true };
type WatchedSocket = Socket & { [QUEUED]?: Set<WatchedResponse> };

/** True the first time a request ends (answered, or its caller gone), false after: one line per request. */
export function firstEnd(reply: FastifyReply): boolean {
  const raw = reply.raw as WatchedResponse;
  if (raw[ENDED]) return false;
  raw[ENDED] = true;
  return true;
}

/** Whether the connection closed before the answer was complete: there is nobody left to answer. */
export function isCallerGone(reply: FastifyReply): boolean {
  return (reply.raw as WatchedResponse)[GONE] === true;
}

/** A pipelined response waiting for its turn: ended with the connection if that closes first. */
function watchQueued(raw: WatchedResponse, socket: WatchedSocket, onClose: (this: WatchedResponse) => void): void {
  let queued = socket[QUEUED];
  if (queued === undefined) {
    const waiting = new Set<WatchedResponse>();
    socket[QUEUED] = queued = waiting;
    socket.once('close', () => { for (const response of waiting) onClose.call(response); });
  }
  queued.add(raw);
  raw.once('finish', () => queued.delete(raw));
}

/**
 * Watches every request except those `skip` names (the proxy's own endpoints); `ended` writes the
 * request line and counts the request, as onResponse does for an answered one.
 */
export function watchCallerGone(app: FastifyInstance, skip: (url: string) => boolean, ended: (request: FastifyRequest, reply: FastifyReply) => void): void {
  // Bound once: the listener finds its reply on the response, so a request allocates no closure.
  function onClose(this: WatchedResponse): void {
    const reply = this[REPLY];
    if (reply === undefined || this[ENDED]) return;
    this[GONE] = true;
    // Headers may be out already; the status is for the line and the metrics, never sent.
    this.statusCode = refusedStatus(reply.request.raw.socket) ?? CALLER_CLOSED_STATUS;
    // Only the proxy route's requests have one.
    const exchange = reply.request.proxyOutcome;
    if (exchange !== null) abandonExchange(exchange);
    try {
      ended(reply.request, reply);
    } catch (err) {
      // A throw here would be an uncaught exception in an event listener: it is a bug, logged as one.
      reply.log.error({ err }, 'ending the request of a caller that hung up failed');
    }
  }
  app.addHook('onRequest', (request, reply, done) => {
    if (!skip(request.url)) {
      const raw = reply.raw as WatchedResponse;
      raw[REPLY] = reply;
      // 'on', not 'once': a response closes once, and once() would allocate a wrapper per request.
      raw.on('close', onClose);
      if (raw.socket === null && request.raw.socket !== null) watchQueued(raw, request.raw.socket, onClose);
    }
    done();
  });
}
