/**
 * pino options: JSON on stdout, level from LOG_LEVEL, redaction compiled once at start-up.
 * The proxy logs token metadata (grant, expiry, failure class), never token values; the redact
 * paths below are a second line of defence for anything that carries headers or credentials.
 */
import { pino, type DestinationStream, type LoggerOptions } from 'pino';

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

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'suitecrm-auth-proxy' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      // Never serialise a raw request/response: they hold headers with credentials.
      req: (req: { method?: string; url?: string }) => ({ method: req.method, path: req.url?.split('?')[0] }),
      err: (err: Error & { code?: string }) => ({ type: err.name, code: err.code, message: err.message }),
    },
  };
}

/**
 * stdout without a blocking write per line: lines written while a write is in flight are
 * batched into the next one, so a busy proxy makes one write syscall per batch, not per request.
 * At low load every line is written at once; pending lines are flushed synchronously on exit.
 */
export function logDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false });
}
