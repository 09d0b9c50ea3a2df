/**
 * A connection the listener closes because of bytes it could not parse (server-options.ts): the
 * requests on it still unanswered end with that refusal's status instead of 499
 * (src/proxy/caller-gone.ts reads it). Kept on the callers' side, where the refusal is made.
 */
import type { Socket } from 'node:net';

const REFUSED = Symbol('suitecrm-auth-proxy.refused-status');

type RefusedSocket = Socket & { [REFUSED]?: number };

export function refusedConnection(socket: Socket, status: number): void {
  (socket as RefusedSocket)[REFUSED] = status;
}

/** The status the listener refused this connection with, if it did. */
export function refusedStatus(socket: Socket | null): number | undefined {
  return (socket as RefusedSocket | null)?.[REFUSED];
}
