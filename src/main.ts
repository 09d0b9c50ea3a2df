#!/usr/bin/env node
/**
 * Process entry: read the environment (and CLI arguments, see cli.ts), build the app, listen, close on signals.
 * A bad setting exits at once with one line naming it, and no stack trace.
 */
import { buildApp } from './app.js';
import { runCli } from './cli.js';
import { ConfigError, loadConfig, type Config } from './config/load.js';
import { exitGracefullyOnSignals } from './shutdown.js';

async function main(): Promise<void> {
  const cli = await runCli(process.argv.slice(2), process.env);
  if (!cli.run) return process.exit(cli.exitCode);
  let config: Config;
  try {
    config = loadConfig(cli.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`suitecrm-auth-proxy: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await buildApp(config);
  exitGracefullyOnSignals(app, { timeoutMs: config.shutdownTimeoutMs, inFlight: () => app.metrics.requestsInFlight });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    process.stderr.write(`suitecrm-auth-proxy: cannot listen on ${config.host}:${config.port} (${code}); check PROXY_HOST and PROXY_PORT\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`suitecrm-auth-proxy: failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
