/**
 * The proxy's own endpoints under `/_proxy/`: liveness and readiness (metrics: metrics.ts). Never forwarded.
 */
import type { FastifyInstance } from 'fastify';
import { JSON_API_CONTENT_TYPE, ProxyError } from '../errors.js';
import type { TokenSource } from '../suitecrm-token/token.js';

export const ADMIN_PREFIX = '/_proxy';

export interface AdminOptions {
  readonly tokens: TokenSource;
  /** Longest a readiness probe waits for a token before answering 503. */
  readonly readinessWaitMs: number;
  /** Returns false once the proxy is shutting down. */
  readonly isAccepting?: () => boolean;
  /** When the configuration was last reloaded successfully (src/reload/); undefined: never. */
  readonly lastConfigReload?: () => Date | undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProxyError('TOKEN_UNAVAILABLE', 'the token request is still running; try again shortly', { retryAfterSeconds: 1 })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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
    const token = opts.tokens.current() ?? (await withTimeout(opts.tokens.get('readiness'), opts.readinessWaitMs));
    const status = opts.tokens.status();
    reply.type(JSON_API_CONTENT_TYPE);
    return Buffer.from(JSON.stringify({
      meta: {
        status: 'ready',
        grant: token.grant,
        tokenExpiresInSeconds: Math.max(0, Math.round((status.expiresInMs ?? 0) / 1000)),
        // Informational only: readiness never fails because a shared token store is down.
        tokenStore: status.tokenStore,
        tokenStoreShared: status.tokenStoreShared,
        lastConfigReloadAt: opts.lastConfigReload?.()?.toISOString() ?? null,
      },
    }));
  });

  app.all(`${ADMIN_PREFIX}/*`, async () => {
    throw new ProxyError('NOT_FOUND', `unknown proxy endpoint; the proxy serves ${ADMIN_PREFIX}/healthz, ${ADMIN_PREFIX}/readyz and ${ADMIN_PREFIX}/metrics`);
  });
}
