/**
 * The part of a reload that an app (a single process, or each PROXY_WORKERS worker) applies
 * itself: inbound callers and rules, the local token endpoint's clients, the log level and the
 * listener's header and request timeouts; and what it reports: the reload counter and the time
 * of the last successful reload in /_proxy/readyz.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { LiveClientRegistry } from '../local-oauth/live-clients.js';
import type { LocalTokenResolver } from '../security/local-tokens.js';
import { oauthCallers } from '../local-oauth/setup.js';
import type { ProxyMetrics } from '../admin/metrics.js';
import { SecurityRules, type LiveSecurity } from '../security/live-rules.js';
import type { PreparedChange, ReloadTarget } from './target.js';

export interface AppReloadParts {
  readonly app: FastifyInstance;
  /** The logger buildApp was given; its children (components) follow its level. */
  readonly logger: Logger;
  readonly security: LiveSecurity;
  readonly localTokens: LocalTokenResolver;
  readonly oauthClients: LiveClientRegistry;
  readonly metrics: ProxyMetrics;
  /** UPSTREAM_TIMEOUT_SECONDS as the proxy route reads it per request. */
  readonly upstreamTimeout: { ms: number };
  /** A worker's token sources learn which credentials the new configuration has. */
  readonly followCredentials?: (next: Config) => void;
}

export class AppReload implements ReloadTarget {
  private lastSuccess: Date | undefined;

  constructor(private readonly parts: AppReloadParts) {}

  async prepare(next: Config): Promise<PreparedChange> {
    const { app, logger, security, oauthClients } = this.parts;
    const rules = new SecurityRules(next.security, next.tokenPath, this.parts.localTokens);
    const callers = oauthCallers(next);
    return {
      commit: () => {
        security.replace(rules);
        oauthClients.replace(callers);
        logger.level = next.logLevel;
        if (app.log !== logger) app.log.level = next.logLevel;
        // Node reads these on its next connection check.
        app.server.headersTimeout = next.security.headersTimeoutMs;
        app.server.requestTimeout = next.security.requestTimeoutMs;
        this.parts.upstreamTimeout.ms = next.upstreamTimeoutMs;
        this.parts.followCredentials?.(next);
      },
      abort: async () => undefined,
    };
  }

  /** Counts a reload and, when it succeeded, remembers when (for readiness). */
  recordOutcome(outcome: 'success' | 'failed', at = new Date()): void {
    this.parts.metrics.configReloaded(outcome);
    if (outcome === 'success') this.lastSuccess = at;
  }

  get lastSuccessAt(): Date | undefined {
    return this.lastSuccess;
  }
}
