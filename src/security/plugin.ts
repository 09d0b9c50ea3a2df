/**
 * Inbound access control for every route, in this order: the request target must be safe
 * (400/414), the caller must present a valid key (401), the access rules must allow the method
 * and path (403), the declared body must fit the caller's limit (413), the caller must be
 * within its rate (429, @fastify/rate-limit with a token-bucket store), and a POST body must
 * not carry a `_METHOD` override (400). `/_proxy/` endpoints need no key and are never forwarded.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_PREFIX } from '../admin.js';
import { isProxyError, ProxyError } from '../errors.js';
import type { LocalTokenResolver } from '../legacy-oauth/plugin.js';
import { Authenticator, type Caller } from './auth.js';
import type { RateLimitSpec } from './clients.js';
import { isLoopbackHost, type SecurityConfig } from './config.js';
import { bodyOverridesMethod, checkRequestTarget, overrideBodyKind } from './request-guard.js';
import { AccessPolicy } from './rules.js';
import { writeSocketError } from './server-options.js';
import { TokenBucketStore } from './token-bucket-store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller's name ("anonymous" without PROXY_CLIENTS); '' when no caller was identified (refused before or at authentication, and /_proxy/ endpoints). For logs and metrics labels. */
    caller: string;
    /** The authenticated caller with its compiled rules; null for /_proxy/ endpoints. */
    callerInfo: Caller | null;
  }
}

export interface SecurityPluginOptions {
  readonly config: SecurityConfig;
  /** PROXY_HOST, for the start-up warning about unauthenticated listening. */
  readonly host: string;
  /** SUITECRM_TOKEN_PATH: refused like the default token endpoint paths. */
  readonly tokenPath: string;
  /** Clock for the rate-limit buckets (tests pass a fake one). */
  readonly now?: () => number;
  /** Local tokens of OAuth-speaking legacy tools (src/legacy-oauth/). */
  readonly localTokens?: LocalTokenResolver;
}

const WWW_AUTHENTICATE = 'Bearer realm="suitecrm-auth-proxy"';

/**
 * Decided by the route that matched, not by the path: `/_proxy` without a slash is not an admin
 * route but the proxy's catch-all, and must get every check (the fuzz test found that one).
 */
function isAdminRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith(`${ADMIN_PREFIX}/`) === true;
}

/** Fails a chunked body once it grows past the caller's limit (a declared Content-Length is checked up front). */
function limitBody(payload: Readable, limit: number, reply: FastifyReply): Transform {
  let received = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received <= limit) return callback(null, chunk);
      // The rest of the body is never read: close the connection after the 413.
      reply.header('connection', 'close');
      callback(new ProxyError('PAYLOAD_TOO_LARGE', `the body is larger than this caller's limit of ${limit} bytes`));
    },
  });
  payload.on('error', (err) => limited.destroy(err));
  // The body's consumer (the content-type parser, then undici) sees errors through its own listener.
  // Fastify never reads GET/HEAD bodies: without this, an aborted one would be an uncaught error.
  limited.on('error', () => undefined);
  return payload.pipe(limited);
}

function warnAtStartup(app: FastifyInstance, opts: SecurityPluginOptions): void {
  const { config } = opts;
  if (config.clients === undefined && !isLoopbackHost(opts.host)) {
    app.log.warn({ event: 'unauthenticated_listener', host: opts.host }, `PROXY_ALLOW_UNAUTHENTICATED=true: anyone who can reach ${opts.host} acts in SuiteCRM with the proxy's credentials; set PROXY_CLIENTS to require keys`);
  } else if (config.clients !== undefined && config.allowUnauthenticated) {
    app.log.warn({ event: 'unauthenticated_callers' }, 'PROXY_ALLOW_UNAUTHENTICATED=true: requests without a key are served as the caller "anonymous"');
  }
}

async function security(app: FastifyInstance, opts: SecurityPluginOptions): Promise<void> {
  const { config } = opts;
  const auth = new Authenticator(config.clients, config.allowUnauthenticated, opts.localTokens);
  const policy = new AccessPolicy({
    allowedPathPrefixes: config.allowedPathPrefixes,
    forwardTokenEndpoint: config.forwardTokenEndpoint,
    tokenPaths: [opts.tokenPath],
    readOnly: config.readOnly,
  });
  const bodyLimit = (caller: Caller): number => Math.min(config.bodyLimitBytes, caller.spec?.bodyLimitBytes ?? Infinity);
  const rateLimitOf = (request: FastifyRequest): RateLimitSpec | undefined =>
    request.callerInfo === null ? undefined : (request.callerInfo.spec?.rateLimit ?? config.defaultRateLimit);

  app.decorateRequest('caller', '');
  app.decorateRequest('callerInfo', null);
  warnAtStartup(app, opts);

  // CONNECT never reaches Fastify: without this, Node just drops the socket. This proxy tunnels nothing.
  app.server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    app.log.info({ event: 'bad_target', method: 'CONNECT', remoteAddress: socket.remoteAddress }, 'refused a CONNECT request');
    writeSocketError(socket, new ProxyError('BAD_REQUEST', 'CONNECT is not supported: this is not a forward proxy'));
  });

  app.addHook('onRequest', (request, reply, done) => {
    if (request.headers.host === undefined && request.raw.httpVersion !== '1.0') {
      return done(new ProxyError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header'));
    }
    const target = checkRequestTarget(request.url, config.maxUrlBytes);
    if (!target.ok) {
      request.log.info({ event: 'bad_target', code: target.code, remoteAddress: request.ip }, target.detail);
      return done(new ProxyError(target.code, target.detail));
    }
    if (isAdminRoute(request)) return done();
    // The local token endpoint authenticates callers by the client credentials in the request itself.
    const localEndpoint = request.routeOptions.config?.localEndpoint;
    if (localEndpoint === 'token') return done();
    let caller: Caller;
    try {
      caller = auth.authenticate(request);
    } catch (err) {
      // A stale local token gets SuiteCRM's own 401, which has no WWW-Authenticate.
      if (isProxyError(err)) reply.header('www-authenticate', WWW_AUTHENTICATE);
      return done(err as Error);
    }
    request.caller = caller.name;
    request.callerInfo = caller;
    // Local logout never reaches SuiteCRM, so the forwarding rules do not apply to it.
    const decision = localEndpoint === 'logout' ? { allowed: true as const } : policy.check(caller.rules, request.method, target.rawPath, target.decodedPath);
    if (!decision.allowed) {
      request.log.warn({ event: 'forbidden', caller: caller.name, rule: decision.rule, method: request.method, path: target.rawPath }, 'request refused by an access rule');
      return done(new ProxyError('FORBIDDEN', 'this caller may not send this request through the proxy; the proxy log names the rule'));
    }
    const declared = request.headers['content-length'];
    const limit = bodyLimit(caller);
    if (declared !== undefined && Number(declared) > limit) {
      reply.header('connection', 'close');
      return done(new ProxyError('PAYLOAD_TOO_LARGE', `the body is larger than this caller's limit of ${limit} bytes`));
    }
    done();
  });

  app.addHook('preParsing', (request, reply, payload, done) => {
    const caller = request.callerInfo;
    if (caller === null || request.headers['content-length'] !== undefined) return done(null, payload);
    const limit = bodyLimit(caller);
    done(null, Number.isFinite(limit) ? limitBody(payload, limit, reply) : payload);
  });

  app.addHook('preHandler', (request, _reply, done) => {
    // Slim turns a POST with a `_METHOD` body field into another method; only buffered bodies can be checked.
    if (request.method === 'POST' && Buffer.isBuffer(request.body) && bodyOverridesMethod(overrideBodyKind(request.headers['content-type']), request.body)) {
      request.log.warn({ event: 'method_override', caller: request.caller }, 'refused a POST body carrying _METHOD');
      return done(new ProxyError('BAD_REQUEST', 'the body carries a _METHOD field, which SuiteCRM would treat as a different HTTP method; send the real method instead'));
    }
    done();
  });

  const now = opts.now;
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    store: class extends TokenBucketStore {
      constructor() {
        super(now);
      }
    },
    keyGenerator: (request: FastifyRequest) => request.caller,
    allowList: (request: FastifyRequest) => rateLimitOf(request) === undefined,
    max: (request: FastifyRequest) => rateLimitOf(request)?.burst ?? 1,
    // Time to refill a full bucket: the store derives the refill rate (perSecond) from it.
    timeWindow: (request: FastifyRequest) => {
      const limit = rateLimitOf(request);
      return limit === undefined ? 1000 : Math.max(1, Math.round((limit.burst / limit.perSecond) * 1000));
    },
    onExceeded: (request: FastifyRequest) => {
      request.log.warn({ event: 'rate_limited', caller: request.caller }, 'caller exceeded its rate limit');
    },
    errorResponseBuilder: (_request, context) => new ProxyError('RATE_LIMITED', `this caller is over its rate limit of ${context.max} requests in a burst; retry after the Retry-After seconds`, {
      retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
    }),
  });
}

// Hooks and decorations apply to the whole app, not only to routes registered inside this plugin.
(security as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const securityPlugin = security;
