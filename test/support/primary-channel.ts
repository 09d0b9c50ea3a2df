/**
 * A PROXY_WORKERS worker and the primary's view of it, joined by a synchronous in-memory channel
 * instead of node:cluster's IPC, for unit tests of shared-state services.
 */
import { PrimaryLink, type PrimaryEnd, type PrimaryServices, type StateCall } from '../../src/shared-state/primary-link.js';

/** A worker attached to `services`: `link` is its side, `end` the primary's, `sent` what it asked. */
export function pair(services: PrimaryServices, answerTimeoutMs = 1000) {
  let toWorker: (message: unknown) => void = () => undefined;
  let toPrimary: (message: unknown) => void = () => undefined;
  const sent: StateCall[] = [];
  const link = new PrimaryLink({
    send: (message) => { sent.push(message); toPrimary(message); },
    onMessage: (listener) => { toWorker = listener; },
  }, answerTimeoutMs);
  const end: PrimaryEnd = {
    send: (message) => toWorker(message),
    onMessage: (listener) => { toPrimary = listener; },
  };
  services.attach(end);
  return { link, end, sent };
}
