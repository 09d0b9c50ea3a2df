/** A pino logger with the proxy's options that keeps every line, so tests can read the log. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { loggerOptions } from '../../src/logging.js';

export interface LogSink {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  entries(): Record<string, unknown>[];
  /** The raw text written so far. */
  text(): string;
}

export function logSink(level = 'info'): LogSink {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      callback();
    },
  });
  return {
    logger: pino(loggerOptions(level), stream),
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}
