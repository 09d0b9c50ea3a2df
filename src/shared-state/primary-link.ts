/**
 * State that the workers of one PROXY_WORKERS group share lives in the primary: a worker asks it
 * over the process's own IPC channel (never a socket) and the primary answers from the one copy
 * it keeps, so the group behaves as one proxy. This is the plumbing only: numbered questions with
 * a bounded wait, answers matched to them, and pushes from the primary to every worker, each on a
 * named service ("sessions", "counters"...). What a service does is the feature's own code,
 * the same in-memory code a single process runs.
 */
import { ProxyError } from '../errors.js';
import { isOnChannel } from './ipc-message.js';

/** Every message carries this tag, so the token protocol and cluster internals are ignored. */
export const STATE_CHANNEL = 'suitecrm-proxy-state';

export interface StateCall {
  readonly channel: typeof STATE_CHANNEL;
  readonly kind: 'call';
  readonly id: number;
  readonly service: string;
  readonly op: string;
  readonly args: readonly unknown[];
}

export interface StateAnswer {
  readonly channel: typeof STATE_CHANNEL;
  readonly kind: 'answer';
  readonly id: number;
  readonly ok: boolean;
  /** The result when ok; a secret-free message otherwise. */
  readonly value: unknown;
}

export interface StatePush {
  readonly channel: typeof STATE_CHANNEL;
  readonly kind: 'push';
  readonly service: string;
  readonly value: unknown;
}

type StateMessage = StateCall | StateAnswer | StatePush;

function isStateMessage(value: unknown): value is StateMessage {
  return isOnChannel<StateMessage>(value, STATE_CHANNEL);
}

/** A worker's end of the IPC channel (process.send / process.on('message') in production). */
export interface WorkerEnd {
  send(message: StateCall): void;
  onMessage(listener: (message: unknown) => void): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** The worker's side: asks the primary and hears its pushes. */
export class PrimaryLink {
  private readonly pending = new Map<number, Pending>();
  private readonly pushListeners = new Map<string, Set<(value: unknown) => void>>();
  private nextId = 1;

  constructor(private readonly end: WorkerEnd, private readonly answerTimeoutMs: number) {
    end.onMessage((message) => {
      if (!isStateMessage(message)) return;
      if (message.kind === 'answer') this.answered(message);
      else if (message.kind === 'push') for (const listener of this.pushListeners.get(message.service) ?? []) listener(message.value);
    });
  }

  /** Runs `op` of `service` in the primary; rejects with ProxyError INTERNAL_ERROR when it fails or takes too long. */
  call<T>(service: string, op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProxyError('INTERNAL_ERROR', `the primary process did not answer about ${service} in time`));
      }, this.answerTimeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.end.send({ channel: STATE_CHANNEL, kind: 'call', id, service, op, args });
    });
  }

  /** Hears what the primary pushes on `service` to every worker (a logout, a rotation...). */
  onPush(service: string, listener: (value: unknown) => void): void {
    let listeners = this.pushListeners.get(service);
    if (listeners === undefined) {
      listeners = new Set();
      this.pushListeners.set(service, listeners);
    }
    listeners.add(listener);
  }

  private answered(message: StateAnswer): void {
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(new ProxyError('INTERNAL_ERROR', String(message.value)));
  }
}

/** One service the primary runs for its workers: `op` name → the function that answers it. */
export type StateService = Readonly<Record<string, (...args: never[]) => unknown>>;

/** A worker as the primary sees it (node:cluster's Worker in production). */
export interface PrimaryEnd {
  send(message: StateAnswer | StatePush): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** The primary's side: answers every worker's questions from the services it runs, and pushes to all. */
export class PrimaryServices {
  private readonly services = new Map<string, StateService>();
  private readonly workers = new Set<PrimaryEnd>();

  serve(name: string, service: StateService): void {
    this.services.set(name, service);
  }

  /** A new worker: its questions are answered from now on. */
  attach(worker: PrimaryEnd): void {
    this.workers.add(worker);
    worker.onMessage((message) => {
      if (isStateMessage(message) && message.kind === 'call') void this.answer(worker, message);
    });
  }

  detach(worker: PrimaryEnd): void {
    this.workers.delete(worker);
  }

  /** Tells every worker (`except` the one that caused it, which already knows). */
  push(service: string, value: unknown, except?: PrimaryEnd): void {
    for (const worker of this.workers) if (worker !== except) worker.send({ channel: STATE_CHANNEL, kind: 'push', service, value });
  }

  private async answer(worker: PrimaryEnd, call: StateCall): Promise<void> {
    const fn = this.services.get(call.service)?.[call.op] as ((...args: unknown[]) => unknown) | undefined;
    let answer: StateAnswer;
    if (fn === undefined) {
      answer = { channel: STATE_CHANNEL, kind: 'answer', id: call.id, ok: false, value: `no ${call.service}.${call.op} in the primary` };
    } else {
      try {
        answer = { channel: STATE_CHANNEL, kind: 'answer', id: call.id, ok: true, value: await fn(...call.args) };
      } catch (err) {
        // Only the message travels: the services' errors are written to carry no secret.
        answer = { channel: STATE_CHANNEL, kind: 'answer', id: call.id, ok: false, value: (err as Error).message };
      }
    }
    worker.send(answer);
  }
}
