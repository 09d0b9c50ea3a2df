/**
 * buildApp(config): the whole proxy as a Fastify instance, without a process around it,
 * so tests build it directly and main.ts only reads the environment and listens.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { adminPlugin } from './admin/probes.js';
import { ADMIN_PREFIX } from './security/own-paths.js';
import type { Config } from './config/load.js';
import { isProxyError, ProxyError, sendProxyError } from './errors.js';
import { localOAuthPlugin, sendRendered } from './local-oauth/plugin.js';
import { localLoginMetrics } from './local-oauth/login-metrics.js';
import { isOAuthError, renderOAuthError } from './local-oauth/responses.js';
import { setupLocalOAuth } from './local-oauth/setup.js';
import { createLogger, lazyRequestLogger } from './logging.js';
import { installMetrics, ProxyMetrics, type MetricsExposition } from './admin/metrics.js';
import type { TokenHooks, TokenSources } from './suitecrm-token/token.js';
import { createTokenManager } from './suitecrm-token/token-manager-factory.js';
import { loadTokenStore } from './suitecrm-token/store-factory.js';
import { firstEnd, isCallerGone, watchCallerGone } from './proxy/caller-gone.js';
import { proxyPlugin } from './proxy/plugin.js';
import { suitecrmDispatcher } from './proxy/upstream-dispatcher.js';
import { AppReload } from './reload/app-target.js';
import { CredentialSet } from './reload/credential-set.js';
import { LiveSecurity, SecurityRules } from './security/live-rules.js';
import { securityPlugin } from './security/plugin.js';
import { serverOptions } from './security/server-options.js';
import { installDrainGuard } from './admin/shutdown.js';
import { startApiDetection, type ApiBaseSource } from './upstream/api-base.js';
import { upstreamConnections } from './upstream/pools.js';
import { closeHome, homeStatus, PROCESS_HOME, redisHomeFor, type StateHome } from './shared-state/state-home.js';
import { countersFor } from './shared-state/counters-home.js';
import { logTlsWarnings } from './upstream/tls.js';
import { lazySchemaCompilers } from './schema-compilers.js';

export interface AppOptions {
  /** A ready pino logger (tests pass one that writes to a sink). */
  readonly logger?: Logger;
  /** Clock for token lifetimes (tests pass a fake one). */
  readonly now?: () => number;
  readonly tokenHooks?: Partial<TokenHooks>;
  /** Where each credential's tokens come from instead of own TokenManagers (a PROXY_WORKERS worker's primary). */
  readonly tokenSources?: TokenSources;
  /** Tells those token sources which credentials a reload left (a PROXY_WORKERS worker). */
  readonly followCredentials?: (next: Config) => void;
  /** What a scrape answers instead of this app's registry (a PROXY_WORKERS worker: the group's figures). */
  readonly metricsExposition?: (registry: Registry) => MetricsExposition;
  /**
   * Where shared state lives (src/shared-state/): a PROXY_WORKERS worker's primary. Without it,
   * Redis with TOKEN_STORE=redis (opened and closed by this app), else this process.
   */
  readonly stateHome?: StateHome;
  /** Where SuiteCRM's API is, instead of detecting it here (a PROXY_WORKERS worker: the primary's). */
  readonly apiBase?: ApiBaseSource;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The tokens of every SuiteCRM credential, by name. */
    tokens: TokenSources;
    metrics: ProxyMetrics;
    /** What a configuration reload changes in this app (src/reload/); credentials only when it owns its tokens. */
    reload: { readonly app: AppReload; readonly credentials: CredentialSet | undefined };
  }
}

const noop = (): void => undefined;
const isAdminUrl = (url: string): boolean => url.startsWith(ADMIN_PREFIX);

function errorStatus(err: FastifyError): number {
  const status = err.statusCode ?? 500;
  return status >= 400 && status < 600 ? status : 500;
}

function createServer(config: Config, logger: Logger): FastifyInstance {
  return Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One request line of our own (logRequest) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log becomes a pino child only if the request logs more than its request line.
    childLoggerFactory: lazyRequestLogger as unknown as FastifyServerOptions['childLoggerFactory'],
    // Requests arriving during the drain get our own JSON:API 503 (installDrainGuard) instead.
    return503OnClosing: false,
    exposeHeadRoutes: false,
    forceCloseConnections: 'idle',
    // Longer than common client idle timeouts, so the client closes first and never hits a dead socket.
    keepAliveTimeout: 72_000,
    schemaController: { compilersFactory: lazySchemaCompilers },
    // Header size, header/request timeouts and JSON:API answers to unparseable requests.
    ...serverOptions(config.security),
  });
}

/** Every error becomes a JSON:API error document, except the local token endpoint's OAuth errors. */
function answerError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  // The caller hung up (the answer's stream failed because of it): its 499 line is written, nobody is left to answer.
  if (isCallerGone(reply)) return;
  // A stale local token gets SuiteCRM's own 401, so a tool's re-login logic runs.
  if (isOAuthError(err)) return sendRendered(reply, renderOAuthError(err, request.headers.authorization));
  const proxyError = isProxyError(err)
    ? err
    : errorStatus(err) < 500
      ? new ProxyError('BAD_REQUEST', err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' ? 'the body does not match Content-Length' : 'the request could not be read')
      : new ProxyError('INTERNAL_ERROR', 'the proxy failed unexpectedly; see its log');
  if (proxyError.status >= 500 && !isProxyError(err)) request.log.error({ err }, 'unexpected error');
  else request.log.debug({ code: proxyError.code }, proxyError.detail);
  sendProxyError(reply, proxyError);
}

/** One line per request (the proxy's own endpoints are not logged): who, with which SuiteCRM credential, what, how it ended (499: the caller hung up first). */
function logRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (request.url.startsWith(ADMIN_PREFIX) || !firstEnd(reply)) return done();
  const outcome = request.proxyOutcome;
  // Through the app's logger with the reqId, not request.log: that would make the request's child logger.
  request.server.log.info({
    reqId: request.id,
    method: request.method,
    // The canonical path (what the rules decided on); as sent when the target was refused before it had one.
    path: request.canonicalPath?.path ?? request.url.split('?', 1)[0],
    caller: request.caller,
    credential: outcome?.credential,
    status: reply.statusCode,
    ms: Math.round(reply.elapsedTime * 10) / 10,
    replayed: outcome?.replayed ?? false,
    tokenWaited: outcome?.tokenWaited ?? false,
  }, 'request');
  done();
}

/** How a request whose caller hung up ends (caller-gone.ts): its line and its count, as an answered one's. */
function endWithoutAnswer(metrics: ProxyMetrics): (request: FastifyRequest, reply: FastifyReply) => void {
  return (request, reply) => {
    logRequest(request, reply, noop);
    metrics.requestAnswered(request, reply);
  };
}

export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const app = createServer(config, logger);

  logTlsWarnings(config, logger);
  const upstream = upstreamConnections(config);

  // A worker's home is its primary; otherwise Redis (opened and closed by this app) or this process.
  const ownHome = options.stateHome === undefined ? await redisHomeFor(config, logger) : undefined;
  const stateHome = options.stateHome ?? ownHome ?? PROCESS_HOME;

  const metrics = new ProxyMetrics();
  if (options.tokenSources === undefined) await loadTokenStore(config);
  // PROXY_WORKERS: a worker gets the API base and its tokens from the primary; otherwise this process finds and owns them.
  const api = options.apiBase ?? startApiDetection(config, upstream.api, logger);
  const owned = options.tokenSources
    ? undefined
    : new CredentialSet(config, (credential) => createTokenManager(credential, logger, { api, now: options.now, hooks: metrics.tokenHooks(credential.current.name, options.tokenHooks), home: stateHome }));
  const tokens: TokenSources = options.tokenSources ?? (owned as CredentialSet);
  // proxyOutcome on the root, not in the proxy plugin's scope: null (not undefined) outside the proxy route.
  app.decorate('tokens', tokens).decorate('metrics', metrics).decorateRequest('proxyOutcome', null);
  metrics.watchTokens(tokens);
  const isAccepting = installDrainGuard(app);
  installMetrics(app, metrics, options.metricsExposition?.(metrics.registry));
  watchCallerGone(app, isAdminUrl, endWithoutAnswer(metrics));

  app.setErrorHandler(answerError);

  app.setNotFoundHandler((_request, reply) => { sendProxyError(reply, new ProxyError('NOT_FOUND', 'no route')); });

  app.addHook('onResponse', logRequest);

  // Rate limits and login throttles count once per process, PROXY_WORKERS group or Redis fleet.
  const counters = countersFor(stateHome, { prefix: config.tokenStorePrefix, now: options.now });
  // Before the other plugins, so its hooks and the per-caller rate limit cover their routes.
  const localOAuth = setupLocalOAuth(config, logger, { now: options.now, home: stateHome, counters });
  const security = new LiveSecurity(new SecurityRules(config.security, config.tokenPath, localOAuth.resolver));
  const upstreamTimeout = { ms: config.upstreamTimeoutMs };
  const reload = new AppReload({ app, logger, security, localTokens: localOAuth.resolver, oauthClients: localOAuth.clients, metrics, upstreamTimeout, followCredentials: options.followCredentials });
  app.decorate('reload', { app: reload, credentials: owned });
  await app.register(securityPlugin, {
    config: config.security, host: config.host, tokenPath: config.tokenPath, replayBodyLimitBytes: config.replayBodyLimitBytes, counters,
    localTokens: localOAuth.resolver, live: security,
  });
  await app.register(localOAuthPlugin, { ...localOAuth, observeLogin: localLoginMetrics(metrics.registry, localOAuth.store) });
  await app.register(adminPlugin, { tokens, api, readinessWaitMs: config.tokenRequestTimeoutMs + 1000, isAccepting, lastConfigReload: () => reload.lastSuccessAt, sharedState: () => homeStatus(stateHome) });
  await app.register(proxyPlugin, {
    dispatcher: suitecrmDispatcher(upstream, logger.child({ component: 'upstream' })),
    tokens, api, upstreamUrl: config.suitecrmUrl,
    timeoutMs: () => upstreamTimeout.ms,
    replayBodyLimitBytes: config.replayBodyLimitBytes,
  });

  app.addHook('onClose', async () => {
    await Promise.all([upstream.api.close(), owned?.close(), localOAuth.store.close()]);
    if (ownHome !== undefined) await closeHome(ownHome);
  });
  return app;
}
