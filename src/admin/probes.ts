/**
 * The proxy's own endpoints under `/_proxy/`: liveness and readiness (readiness.ts; metrics: metrics.ts). Never forwarded.
 */
import type { FastifyInstance } from 'fastify';
import { JSON_API_CONTENT_TYPE, ProxyError } from '../errors.js';
import type { TokenSources } from '../suitecrm-token/token.js';
import type { ApiBaseSource } from '../upstream/api-base.js';
import { ADMIN_PREFIX } from '../security/own-paths.js';
import { readiness } from './readiness.js';
import type { StateHomeStatus } from '../shared-state/state-home.js';


export interface AdminOptions {
  readonly tokens: TokenSources;
  /** Where SuiteCRM's API is: readiness waits for it too, and shows it. */
  readonly api: ApiBaseSource;
  /** Longest a readiness probe waits for each credential's token before answering 503. */
  readonly readinessWaitMs: number;
  /** Returns false once the proxy is shutting down. */
  readonly isAccepting?: () => boolean;
  /** When the configuration was last reloaded successfully (src/reload/); undefined: never. */
  readonly lastConfigReload?: () => Date | undefined;
  /** Where shared sessions and limits live and whether they are shared right now (informational). */
  readonly sharedState?: () => StateHomeStatus;
}

export async function adminPlugin(app: FastifyInstance, opts: AdminOptions): Promise<void> {
  app.get(`${ADMIN_PREFIX}/healthz`, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get(`${ADMIN_PREFIX}/readyz`, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (opts.isAccepting && !opts.isAccepting()) {
      throw new ProxyError('SHUTTING_DOWN', 'the proxy is draining in-flight requests before it exits');
    }
    const state = await readiness(opts.tokens, opts.readinessWaitMs, opts.api);
    const lastConfigReloadAt = opts.lastConfigReload?.()?.toISOString() ?? null;
    // Informational only, like tokenStoreShared: a replica whose Redis is down still serves.
    const sharedState = opts.sharedState?.();
    const first = state.errors[0];
    if (first !== undefined) {
      // One JSON:API error per failing credential; the first one's code and Retry-After lead.
      const errors = state.errors.map((err) => err.toJsonApiError());
      return reply.code(first.status).headers(first.headers())
        .send(Buffer.from(JSON.stringify({ errors, meta: { status: 'not_ready', suitecrmApi: state.suitecrmApi, credentials: state.credentials, lastConfigReloadAt, sharedState } })));
    }
    // The top-level fields are the first credential's (`default` when configured), as before named credentials.
    const lead = Object.values(state.credentials)[0];
    reply.type(JSON_API_CONTENT_TYPE);
    return Buffer.from(JSON.stringify({
      meta: {
        status: 'ready',
        grant: lead?.grant,
        tokenExpiresInSeconds: lead?.tokenExpiresInSeconds,
        // Informational only: readiness never fails because a shared token store is down.
        tokenStore: lead?.tokenStore,
        tokenStoreShared: lead?.tokenStoreShared,
        lastConfigReloadAt,
        suitecrmApi: state.suitecrmApi,
        sharedState,
        credentials: state.credentials,
      },
    }));
  });

  app.all(`${ADMIN_PREFIX}/*`, async () => {
    throw new ProxyError('NOT_FOUND', `unknown proxy endpoint; the proxy serves ${ADMIN_PREFIX}/healthz, ${ADMIN_PREFIX}/readyz and ${ADMIN_PREFIX}/metrics`);
  });
}
