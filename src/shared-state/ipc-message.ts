/**
 * What every IPC message between the PROXY_WORKERS primary and its workers has in common: it
 * names the channel it travels on (tokens, shared state, metrics, configuration), so each
 * feature reads its own and ignores the rest (and Node's cluster internals).
 */

/** Whether `value` is a message on `channel`. */
export function isOnChannel<T extends { channel: string }>(value: unknown, channel: string): value is T {
  return typeof value === 'object' && value !== null && (value as { channel?: unknown }).channel === channel;
}

/** A worker as the primary sends to it (node:cluster's Worker). */
export interface ConnectedWorker {
  isConnected(): boolean;
  send(message: unknown): unknown;
}

/** Sends to a worker still connected; one that is gone gets nothing (its exit is handled where it is noticed). */
export function sendIfConnected(worker: ConnectedWorker, message: unknown): void {
  if (worker.isConnected()) worker.send(message);
}
