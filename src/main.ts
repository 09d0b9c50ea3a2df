#!/usr/bin/env node
/**
 * Process entry: read the environment (and CLI arguments, see cli.ts), build the app, listen, close on signals.
 * A bad setting exits at once with one line naming it, and no stack trace.
 * With PROXY_WORKERS > 1 this process becomes the cluster primary (cluster/primary.ts).
 * SIGHUP, or a changed config or secret file, reloads the configuration (src/reload/).
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { runCli } from './cli/arguments.js';
import { ConfigError, type FileReader } from './config/load.js';
import { startReloading } from './reload/process.js';
import type { Reloader } from './reload/reloader.js';
import { readSnapshot, type ConfigSnapshot, type ConfigSource } from './reload/snapshot.js';
import { exitGracefullyOnSignals } from './admin/shutdown.js';

const readText: FileReader = (path) => readFileSync(path, 'utf8');

async function main(): Promise<void> {
  const cli = await runCli(process.argv.slice(2), process.env);
  if (!cli.run) return process.exit(cli.exitCode);
  // The environment as given: a reload reads the config file again and merges it under this.
  const source: ConfigSource = { env: process.env, configPath: cli.configPath };
  let snapshot: ConfigSnapshot;
  try {
    snapshot = readSnapshot(source, readText);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`suitecrm-auth-proxy: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const config = snapshot.config;
  if (config.workers > 1 && cluster.isPrimary) {
    await runPrimary(source, snapshot);
    return;
  }
  const isWorker = cluster.isWorker;
  // Loaded here, not at the top: a PROXY_WORKERS primary serves no HTTP and stays small without
  // them, and a single process never loads src/cluster/ (node:cluster itself is loaded by any
  // listening server: node:net asks it who owns the port).
  const [{ buildApp }, workerSide] = await Promise.all([import('./app.js'), isWorker ? workerModules() : undefined]);
  const app = await buildApp(config, workerSide?.workerAppOptions(config));
  let reloader: Reloader;
  if (workerSide !== undefined) {
    reloader = workerSide.followPrimary(snapshot, app.reload.app, app.log);
  } else {
    const reloading = startReloading({
      source, initial: snapshot, readFile: readText, logger: app.log,
      targets: [app.reload.app, ...(app.reload.credentials ? [app.reload.credentials] : [])],
      credentials: app.reload.credentials,
      onResult: (result) => { if (result.outcome !== 'unchanged') app.reload.app.recordOutcome(result.outcome); },
    });
    reloader = reloading.reloader;
    app.addHook('onClose', async () => reloading.close());
  }
  const drain = exitGracefullyOnSignals(app, {
    // Read when the signal comes, so a reloaded SHUTDOWN_TIMEOUT_SECONDS applies.
    get timeoutMs() { return reloader.config.shutdownTimeoutMs; },
    inFlight: () => app.metrics.requestsInFlight,
    // A worker gets the terminal's signal and its primary's SIGTERM: only the primary forces.
    forceOnSecondSignal: !isWorker,
  });
  // A worker whose primary is gone has no token source left: finish in-flight requests and exit.
  if (isWorker) process.once('disconnect', () => drain('disconnect'));
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    process.stderr.write(`suitecrm-auth-proxy: cannot listen on ${config.host}:${config.port} (${code}); check PROXY_HOST and PROXY_PORT\n`);
    process.exit(1);
  }
}

async function workerModules(): Promise<typeof import('./cluster/worker.js') & typeof import('./cluster/config-sync.js')> {
  const [worker, configSync] = await Promise.all([import('./cluster/worker.js'), import('./cluster/config-sync.js')]);
  return { ...worker, ...configSync };
}

/** PROXY_WORKERS > 1: this process forks the workers and owns the token; it serves no HTTP. */
async function runPrimary(source: ConfigSource, snapshot: ConfigSnapshot): Promise<void> {
  const [{ startPrimary }, { loadTokenStore }] = await Promise.all([import('./cluster/primary.js'), import('./suitecrm-token/store-factory.js')]);
  await loadTokenStore(snapshot.config);
  const primary = await startPrimary(snapshot.config);
  const reloading = startReloading({
    source, initial: snapshot, readFile: readText, logger: primary.logger,
    targets: [primary.credentials, primary.reloadTarget],
    credentials: primary.credentials,
    onResult: (result) => primary.reloaded(result),
  });
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) process.exit(1);
    closing = true;
    reloading.close();
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
