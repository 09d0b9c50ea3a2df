/**
 * PROXY_WORKERS: the state the workers of the group share lives in the primary (src/shared-state/).
 * The primary keeps one copy of each shared feature, in its own home (its memory, or Redis with
 * TOKEN_STORE=redis, so a group is one member of a fleet), and answers its workers' questions about
 * it over IPC. Each shared feature registers its service here.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { PrimaryServices, type PrimaryEnd } from '../shared-state/primary-link.js';
import { closeHome, PROCESS_HOME, redisHomeFor, type StateHome } from '../shared-state/state-home.js';
import { countersFor } from '../shared-state/counters-home.js';
import { COUNTERS_SERVICE, countersService } from '../shared-state/primary-counters.js';
import { sessionBookFor } from '../local-oauth/sessions/book-for-home.js';
import { sessionService, SESSIONS_SERVICE } from '../local-oauth/sessions/primary-book.js';
import { sendIfConnected } from '../shared-state/ipc-message.js';

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
  // Each shared feature serves its in-memory (or Redis-backed) copy here.
  services.serve(COUNTERS_SERVICE, countersService(countersFor(home, { prefix: config.tokenStorePrefix })));
  const sessions = sessionBookFor(home, config, logger);
  services.serve(SESSIONS_SERVICE, sessionService(sessions, (change) => services.push(SESSIONS_SERVICE, change)));
  return {
    services,
    home,
    attach(worker) {
      const end: PrimaryEnd = {
        send: (message) => sendIfConnected(worker, message),
        onMessage: (listener) => { worker.on('message', listener); },
      };
      services.attach(end);
      worker.once('exit', () => services.detach(end));
    },
    close: async () => {
      await sessions.close();
      await closeHome(home);
    },
  };
}
