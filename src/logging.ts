/**
 * pino options: JSON on stdout, level from LOG_LEVEL, redaction compiled once at start-up.
 * The proxy logs token metadata (grant, expiry, failure class), never token values; the redact
 * paths below are a second line of defence for anything that carries headers or credentials.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-proxy-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-proxy-key"]',
  'res.headers["set-cookie"]',
  'client_secret',
  'password',
  'refresh_token',
  'access_token',
  'body.client_secret',
  'body.password',
  'body.refresh_token',
  'body.access_token',
];

/** What @fastify/reply-from logs, at warn, for every upstream failure before our onError answers it. */
const REPLY_FROM_FAILURE_MESSAGE = 'response errored';
const WARN = 40;

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    hooks: {
      // Demoted to debug, where the proxy's own line for a classified upstream error has always been:
      // a SuiteCRM outage would otherwise add a warn line per failed request (the request line
      // already carries the status, the response the error code).
      logMethod(args, method, methodLevel) {
        if (methodLevel === WARN && args[1] === REPLY_FROM_FAILURE_MESSAGE) return this.debug(...(args as [object, string]));
        return method.apply(this, args);
      },
    },
    base: { service: 'suitecrm-auth-proxy' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      // Never serialise a raw request/response: they hold headers with credentials.
      req: (req: { method?: string; url?: string }) => ({ method: req.method, path: req.url?.split('?')[0] }),
      err: (err: Error & { code?: string }) => ({ type: err.name, code: err.code, message: err.message }),
    },
  };
}

/** Log lines are written in batches of about this many bytes... */
const LOG_BATCH_BYTES = 4096;
/** ...or after this long, whichever comes first, so a quiet proxy's lines still appear promptly. */
const LOG_FLUSH_INTERVAL_MS = 1000;

/**
 * stdout without a write syscall per line: lines are batched into ~4 KiB writes, and whatever is
 * pending is written at least once a second and synchronously on exit (pino's exit hook). In the
 * benchmark's profile the write per request line cost about 8% of the proxy's CPU.
 */
export function logDestination(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES });
  setInterval(() => destination.flush(), LOG_FLUSH_INTERVAL_MS).unref();
  return destination;
}

/** The process's logger: JSON lines on stdout at LOG_LEVEL. */
export function createLogger(level: string): Logger {
  return pino(loggerOptions(level), logDestination());
}

type Bindings = Record<string, unknown>;
type LogArgs = [obj: unknown, msg?: string, ...args: unknown[]];

/**
 * What Fastify gives each request as `request.log`: pino's child for the request's reqId, made the
 * first time the request logs something. pino's child() costs about a microsecond per request
 * (bench/README.md), and most requests log nothing but their request line, which app.ts writes
 * through the app's logger with the reqId itself.
 */
class LazyRequestLogger {
  #child: Logger | undefined;

  constructor(private readonly parent: Logger, private readonly bindings: Bindings, private readonly options: object) {}

  private get logger(): Logger {
    return (this.#child ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.#child?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  fatal(...args: LogArgs): void { this.logger.fatal(...(args as [unknown])); }
  error(...args: LogArgs): void { this.logger.error(...(args as [unknown])); }
  warn(...args: LogArgs): void { this.logger.warn(...(args as [unknown])); }
  info(...args: LogArgs): void { this.logger.info(...(args as [unknown])); }
  debug(...args: LogArgs): void { this.logger.debug(...(args as [unknown])); }
  trace(...args: LogArgs): void { this.logger.trace(...(args as [unknown])); }
  silent(): void {
    // Never logs.
  }

  child(bindings: Bindings, options?: object): Logger {
    return this.logger.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: a request's logger that becomes a pino child only when used. */
export function lazyRequestLogger(logger: Logger, bindings: Bindings, options: object): Logger {
  return new LazyRequestLogger(logger, bindings, options) as unknown as Logger;
}
