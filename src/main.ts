#!/usr/bin/env node
/**
 * Process entry: read the environment (and CLI arguments, see cli.ts), build the app, listen, close on signals.
 * A bad setting exits at once with one line naming it, and no stack trace.
 * With PROXY_WORKERS > 1 this process becomes the cluster primary (cluster/primary.ts).
 */
import cluster from 'node:cluster';
import { runCli } from './cli.js';
import { startPrimary } from './cluster/primary.js';
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
  if (config.workers > 1 && cluster.isPrimary) {
    runPrimary(config);
    return;
  }
  // Loaded here, not at the top: a PROXY_WORKERS primary serves no HTTP and stays small without them.
  const [{ buildApp }, { workerAppOptions }] = await Promise.all([import('./app.js'), import('./cluster/worker.js')]);
  const app = await buildApp(config, workerAppOptions(config));
  const drain = exitGracefullyOnSignals(app, {
    timeoutMs: config.shutdownTimeoutMs,
    inFlight: () => app.metrics.requestsInFlight,
    // A worker gets the terminal's signal and its primary's SIGTERM: only the primary forces.
    forceOnSecondSignal: !cluster.isWorker,
  });
  // A worker whose primary is gone has no token source left: finish in-flight requests and exit.
  if (cluster.isWorker) process.once('disconnect', () => drain('disconnect'));
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    process.stderr.write(`suitecrm-auth-proxy: cannot listen on ${config.host}:${config.port} (${code}); check PROXY_HOST and PROXY_PORT\n`);
    process.exit(1);
  }
}

/** PROXY_WORKERS > 1: this process forks the workers and owns the token; it serves no HTTP. */
function runPrimary(config: Config): void {
  const primary = startPrimary(config);
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) process.exit(1);
    closing = true;
    primary.logger.info({ signal }, 'shutting down the workers');
    primary.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`suitecrm-auth-proxy: failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
