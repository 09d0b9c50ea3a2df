/**
 * PROXY_WORKERS: the state the workers of the group share lives in the primary (src/shared-state/).
 * The primary keeps one copy of each shared feature, in its own home (its memory, or Redis with
 * TOKEN_STORE=redis, so a group is one member of a fleet), and answers its workers' questions about
 * it over IPC. Each shared feature registers its service here.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { PrimaryLink, PrimaryServices, type PrimaryEnd } from '../shared-state/primary-link.js';
import { closeHome, PROCESS_HOME, redisHomeFor, type StateHome } from '../shared-state/state-home.js';
import { countersFor } from '../shared-state/counters-home.js';
import { COUNTERS_SERVICE, countersService } from '../shared-state/primary-counters.js';

export interface GroupState {
  readonly services: PrimaryServices;
  /** Where the primary keeps the group's state. */
  readonly home: StateHome;
  /** A worker that was forked: its questions are answered from now on, until it exits. */
  attach(worker: Worker): void;
  close(): Promise<void>;
}

/** The primary's side. */
export async function startGroupState(config: Config, logger: Logger): Promise<GroupState> {
  const home = (await redisHomeFor(config, logger)) ?? PROCESS_HOME;
  const services = new PrimaryServices();
  // Each shared feature serves its in-memory (or Redis-backed) copy here, e.g.
  // services.serve('counters', ...), services.serve('sessions', ...).
  services.serve(COUNTERS_SERVICE, countersService(countersFor(home, { prefix: config.tokenStorePrefix })));
  return {
    services,
    home,
    attach(worker) {
      const end: PrimaryEnd = {
        send: (message) => { if (worker.isConnected()) worker.send(message); },
        onMessage: (listener) => { worker.on('message', listener); },
      };
      services.attach(end);
      worker.once('exit', () => services.detach(end));
    },
    close: () => closeHome(home),
  };
}

/** A worker's side: its shared state lives in the primary. */
export function primaryHome(answerTimeoutMs: number): StateHome | undefined {
  if (process.send === undefined) return undefined;
  const send = process.send.bind(process);
  const link = new PrimaryLink({
    send: (message) => { send(message); },
    onMessage: (listener) => { process.on('message', listener); },
  }, answerTimeoutMs);
  return { kind: 'primary', primary: link };
}
