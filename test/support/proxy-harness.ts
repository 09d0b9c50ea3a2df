/**
 * Starts the real proxy app on 127.0.0.1:0 in front of a SuiteCRM double, with every log line
 * captured so tests can assert on token events and scan for leaked secrets.
 */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp, type AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { loggerOptions } from '../../src/logging.js';

export interface RunningProxy {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Every log line written so far, raw JSON text. */
  readonly logs: string[];
  logEvents(event: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export const CC_ENV = { SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET: 'cc-secret-S3cr3t!' };
export const PW_ENV = {
  SUITECRM_GRANT_TYPE: 'password', SUITECRM_CLIENT_ID: 'pw-client', SUITECRM_CLIENT_SECRET: 'pw-secret-S3cr3t!',
  SUITECRM_USERNAME: 'admin', SUITECRM_PASSWORD: 'admin-P4ssw0rd!',
};

export async function startProxy(suitecrmUrl: string, env: Record<string, string> = {}, options: Omit<AppOptions, 'logger'> = {}): Promise<RunningProxy> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      callback();
    },
  });
  const config = loadConfig({ SUITECRM_URL: suitecrmUrl, ...CC_ENV, PROXY_PORT: '0', LOG_LEVEL: 'debug', ...env });
  const logger = pino(loggerOptions(config.logLevel), sink);
  const app = await buildApp(config, { ...options, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    logs,
    logEvents: (event) => logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === event),
    close: () => app.close(),
  };
}
