/**
 * PROXY_WORKERS=N: the primary process forks N workers that share the listening socket
 * (node:cluster), owns the TokenManager of each SuiteCRM credential for the process group and
 * hands their tokens to the workers over IPC, each message naming its credential, so the group
 * makes one token request per credential and TTL window, not one per worker.
 * It serves no HTTP itself. A worker that dies is replaced; a worker that cannot start stops all.
 * It also finds SuiteCRM's API for the group (api-base-sync.ts), so the workers forward where its
 * token managers get their tokens, owns the token metrics, and answers every worker's scrape with
 * the whole group's figures (metrics-collector.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { isProxyError, ProxyError } from '../errors.js';
import { createLogger } from '../logging.js';
import type { CachedToken, RenewReason, TokenSource } from '../suitecrm-token/token.js';
import { createTokenManager } from '../suitecrm-token/token-manager-factory.js';
import type { DetectedApiBase } from '../upstream/api-base.js';
import { CredentialSet } from '../reload/credential-set.js';
import type { ReloadResult } from '../reload/reloader.js';
import type { ReloadTarget } from '../reload/target.js';
import { groupApiBase } from './api-base-sync.js';
import { applyMessage, broadcastConfig, FAILED_MESSAGE, sendConfig, type ConfigMessage } from './config-sync.js';
import { startGroupState } from './group-state.js';
import type { StateHome } from '../shared-state/state-home.js';
import { CHANNEL, taggedCredential, isMessage, type PrimaryMessage, type Tagged, type WorkerMessage } from './messages.js';
import { PrimaryMetrics } from './primary-metrics.js';
import { sendIfConnected } from '../shared-state/ipc-message.js';

/** A worker that dies is replaced after this pause, so a crash loop cannot spin the CPU. */
const RESPAWN_DELAY_MS = 1000;
/** Workers drain for SHUTDOWN_TIMEOUT_SECONDS after SIGTERM; they are killed this much later. */
const SHUTDOWN_KILL_SLACK_MS = 5_000;

export interface PrimaryHandle {
  readonly logger: Logger;
  /** The tokens of the process group, one per credential; a reload prepares them. */
  readonly credentials: CredentialSet;
  /** What a reload changes in the primary: its log level, and the workers follow. */
  readonly reloadTarget: ReloadTarget;
  /** Tells the workers how a reload ended (they apply it) and counts it: the group's reloads are the primary's. */
  reloaded(result: ReloadResult): void;
  /** Stops every worker (SIGTERM, then SIGKILL after the grace period) and the token pool. */
  stop(): Promise<void>;
}

function send(worker: Worker, message: Tagged<PrimaryMessage>): void {
  sendIfConnected(worker, message);
}

function broadcast(message: Tagged<PrimaryMessage>): void {
  for (const worker of Object.values(cluster.workers ?? {})) if (worker) send(worker, message);
}

/**
 * The tokens of the process group; every token a credential's manager stores goes to all workers,
 * tagged with that credential. A manager being warmed by a reload keeps its first token to itself
 * until it is swapped in. With TOKEN_STORE=redis the tokens are shared through the primary's home.
 */
function groupTokens(config: Config, logger: Logger, metrics: PrimaryMetrics, home: StateHome, api: DetectedApiBase): CredentialSet {
  const tokens = new CredentialSet(config, (credential, isCurrent) => {
    const name = credential.current.name;
    return createTokenManager(credential, logger, {
      home,
      api,
      hooks: metrics.tokens.tokenHooks(name, {
        tokenStored: (token: CachedToken) => { if (isCurrent()) broadcast({ channel: CHANNEL, type: 'token', id: 0, token, credential: name }); },
      }),
    });
  });
  metrics.tokens.watchTokens(tokens);
  return tokens;
}

/** The primary's own part of a reload is its log level; the workers apply the rest themselves. */
function logLevelTarget(logger: Logger): ReloadTarget {
  return {
    prepare: async (next) => ({ commit: () => { logger.level = next.logLevel; }, abort: async () => undefined }),
  };
}

/** The answer to a worker's `get`: the credential's token, or why there is none. */
function answerGet(tokens: TokenSource | undefined, worker: Worker, credential: string, id: number, reason: RenewReason): void {
  const got = tokens?.get(reason) ?? Promise.reject(new ProxyError('TOKEN_UNAVAILABLE', `the SuiteCRM credential ${JSON.stringify(credential)} is not configured`));
  got.then(
    (token) => send(worker, { channel: CHANNEL, type: 'token', id, token, credential }),
    (err: unknown) => {
      const proxyError = isProxyError(err) ? err : undefined;
      send(worker, {
        channel: CHANNEL, type: 'error', id, credential,
        code: proxyError?.code ?? 'TOKEN_UNAVAILABLE',
        detail: proxyError?.detail ?? 'no SuiteCRM token could be obtained',
        retryAfterSeconds: proxyError?.retryAfterSeconds,
        failure: tokens?.status().lastFailure,
      });
    });
}

/** Serves one worker request about one credential: its token, or news about the one it used. */
function answerWorker(group: CredentialSet, worker: Worker, message: Tagged<WorkerMessage>): void {
  const credential = message.credential;
  const tokens = group.source(credential);
  if (message.type === 'get') return answerGet(tokens, worker, credential, message.id, message.reason);
  if (tokens === undefined) return;
  switch (message.type) {
    case 'refresh-due':
      tokens.current();
      break;
    case 'rejected':
      tokens.rejected(message.token);
      break;
    case 'replay-rejected': {
      // Counted once per token for the whole group; a token some worker saw work was revoked, not refused fresh.
      const pauseMs = tokens.replayRejected(message.token);
      if (pauseMs > 0) broadcast({ channel: CHANNEL, type: 'reauth-blocked', until: Date.now() + pauseMs, credential });
      break;
    }
    case 'accepted':
      tokens.accepted(message.token);
      break;
  }
}

/** A worker's messages: token news to its credential's manager, the group scrape to the metrics. */
function listenToWorker(worker: Worker, group: CredentialSet, metrics: PrimaryMetrics): void {
  worker.on('message', (message: unknown) => {
    if (isMessage<WorkerMessage>(message) && taggedCredential(message) !== undefined) answerWorker(group, worker, message as Tagged<WorkerMessage>);
    else metrics.receive(worker, message);
  });
}

/** SIGTERM to every live worker, which then drains; SIGKILL to those still running after the grace period. */
async function stopWorkers(shutdownTimeoutMs: number): Promise<void> {
  const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
  await Promise.all(alive.map((worker) => new Promise<void>((resolve) => {
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), shutdownTimeoutMs + SHUTDOWN_KILL_SLACK_MS);
    worker.once('exit', () => { clearTimeout(timer); resolve(); });
    worker.process.kill('SIGTERM');
  })));
}

export async function startPrimary(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<PrimaryHandle> {
  const log = logger.child({ component: 'primary' });
  const metrics = new PrimaryMetrics(log);
  const groupState = await startGroupState(config, logger);
  const { api, close: closeApi } = groupApiBase(config, logger, groupState.services);
  const tokens = groupTokens(config, logger, metrics, groupState.home, api);
  /** The last configuration the workers were told to apply; a replacement worker gets it too. */
  let lastApplied: ConfigMessage | undefined;
  let stopping = false;
  const everListened = new Set<number>();

  const fork = (): void => {
    const worker = cluster.fork();
    groupState.attach(worker);
    listenToWorker(worker, tokens, metrics);
    worker.once('listening', () => everListened.add(worker.id));
    // A replacement worker read the files itself; it takes what the group runs with once it
    // listens (by then it listens for configuration messages too).
    const message = lastApplied;
    if (message !== undefined) worker.once('listening', () => sendConfig(worker, message));
  };

  cluster.on('exit', (worker, code, signal) => {
    metrics.workerExited(worker, !stopping && everListened.has(worker.id));
    if (stopping) return;
    if (!everListened.has(worker.id)) {
      log.fatal({ event: 'worker_start_failed', worker: worker.id, code, signal }, 'a worker exited before it could listen; stopping (see its message above)');
      stopping = true;
      void stop().then(() => process.exit(1));
      return;
    }
    log.error({ event: 'worker_exited', worker: worker.id, code, signal }, 'a worker exited; starting a new one');
    setTimeout(() => { if (!stopping) fork(); }, RESPAWN_DELAY_MS).unref();
  });

  for (let i = 0; i < config.workers; i++) fork();
  log.info({ event: 'workers_started', workers: config.workers }, `started ${config.workers} workers sharing one SuiteCRM token`);

  async function stop(): Promise<void> {
    stopping = true;
    await stopWorkers(config.shutdownTimeoutMs);
    await Promise.all([tokens.close(), groupState.close(), closeApi()]);
  }

  const reloaded = (result: ReloadResult): void => {
    if (result.outcome === 'unchanged') return;
    metrics.configReloaded(result.outcome);
    if (result.outcome === 'failed') return broadcastConfig(FAILED_MESSAGE);
    lastApplied = applyMessage(result.snapshot);
    broadcastConfig(lastApplied);
    // A credential's new identity replaces the workers' copies now, not when the old token expires.
    for (const [credential, change] of Object.entries(result.diff.credentials)) {
      const token = change === 'identity' ? tokens.source(credential)?.current() : undefined;
      if (token !== undefined) broadcast({ channel: CHANNEL, type: 'token', id: 0, token, credential });
    }
  };

  return { logger, stop, credentials: tokens, reloadTarget: logLevelTarget(logger), reloaded };
}
