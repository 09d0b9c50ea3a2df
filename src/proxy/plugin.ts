/**
 * The proxy is just a catch-all route, so every Fastify hook (auth, rate limits, logging)
 * applies to proxied requests too. `/_proxy/` belongs to the proxy and is never forwarded.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyError } from '../errors.js';
import { registerPassThroughBodies } from './body.js';
import { Forwarder, type ForwardOptions, type ForwardOutcome } from './forward.js';

export const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the proxy route: whether the request waited for a token or was replayed. */
    proxyOutcome: ForwardOutcome | null;
  }
}

export interface ProxyPluginOptions extends ForwardOptions {
  readonly replayBodyLimitBytes: number;
}

export async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  registerPassThroughBodies(app, opts.replayBodyLimitBytes);
  app.decorateRequest('proxyOutcome', null);
  const forwarder = new Forwarder(opts);
  app.route({
    method: [...PROXIED_METHODS],
    url: '/*',
    handler(request: FastifyRequest, reply: FastifyReply) {
      // Only origin-form targets ("/path?query") can be proxied; the pool is bound to SUITECRM_URL.
      if (request.url.charCodeAt(0) !== 47 /* '/' */) {
        throw new ProxyError('BAD_REQUEST', 'the request target must be a path starting with /');
      }
      const outcome: ForwardOutcome = { replayed: false, tokenWaited: false, upstreamMs: -1 };
      request.proxyOutcome = outcome;
      // Not async: with a cached token the request is dispatched without a promise; the reply
      // is sent from the upstream's callbacks.
      forwarder.forward(request, reply, outcome);
    },
  });
}
