/**
 * Graceful shutdown. On the first SIGTERM or SIGINT the app closes: readiness answers 503 at
 * once, the listener closes (new connections are refused), idle keep-alive sockets are closed,
 * requests arriving on busy keep-alive sockets get 503 SHUTTING_DOWN with `Connection: close`,
 * and in-flight requests (a 401 replay, a slow upload) finish. Then the upstream pools close and
 * the process exits 0. After SHUTDOWN_TIMEOUT_SECONDS the remaining connections are cut and the
 * process exits 0 anyway (the cut is logged). A second signal exits at once with 128 + signal number.
 */
import { constants } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../errors.js';

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Marks the app as draining as soon as `close()` starts and answers requests that still arrive
 * on open connections with 503 SHUTTING_DOWN. Returns the readiness check.
 */
export function installDrainGuard(app: FastifyInstance): () => boolean {
  let accepting = true;
  app.addHook('preClose', (done) => {
    accepting = false;
    done();
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    if (accepting) done();
    else done(new ProxyError('SHUTTING_DOWN', 'the proxy is draining in-flight requests before it exits; retry on another instance'));
  });
  return () => accepting;
}

export interface ShutdownOptions {
  /** SHUTDOWN_TIMEOUT_SECONDS in ms. */
  readonly timeoutMs: number;
  /** Requests still running, for the log line when the timeout cuts them. */
  readonly inFlight?: () => number;
  readonly exit?: (code: number) => void;
  /** A second signal exits at once (default). Off in PROXY_WORKERS workers: their primary forces. */
  readonly forceOnSecondSignal?: boolean;
}

/** Installs the signal handlers; call once per process. Returns a function that starts the drain. */
export function exitGracefullyOnSignals(app: FastifyInstance, opts: ShutdownOptions): (reason: string) => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let draining = false;
  const onSignal = (signal: NodeJS.Signals | 'disconnect'): void => {
    if (draining) {
      if (opts.forceOnSecondSignal === false || signal === 'disconnect') return;
      app.log.warn({ event: 'shutdown_forced', signal }, 'second signal: exiting at once without waiting for in-flight requests');
      exit(128 + (constants.signals[signal as NodeJS.Signals] ?? 0));
      return;
    }
    draining = true;
    app.log.info({ event: 'shutdown_started', signal, inFlight: opts.inFlight?.(), timeoutSeconds: opts.timeoutMs / 1000 },
      'shutting down: no new connections, waiting for in-flight requests');
    const timer = setTimeout(() => {
      app.log.warn({ event: 'shutdown_timeout', inFlight: opts.inFlight?.() },
        'SHUTDOWN_TIMEOUT_SECONDS passed: closing the connections of requests still running and exiting');
      app.server.closeAllConnections();
      exit(0);
    }, opts.timeoutMs);
    app.close().then(() => {
      clearTimeout(timer);
      app.log.info({ event: 'shutdown_complete' }, 'all requests finished; exiting');
      exit(0);
    }, (err: unknown) => {
      clearTimeout(timer);
      app.log.error({ err, event: 'shutdown_failed' }, 'closing failed; exiting');
      exit(1);
    });
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
  return (reason) => onSignal(reason === 'disconnect' ? 'disconnect' : 'SIGTERM');
}
