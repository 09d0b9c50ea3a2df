/**
 * Inbound access control for every route, in this order: the request target must be safe
 * (400/414) and gets its canonical path (canonical-path.ts, what every rule sees), the caller
 * must present a valid key (401), the access rules must allow the method and path (403), the
 * declared body must fit the caller's limit (413), the caller must be within its rate (429,
 * @fastify/rate-limit with a token-bucket store), and a POST body must not carry a `_METHOD`
 * override (400). `/_proxy/` endpoints need no key and are never forwarded.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RequestPayload } from 'fastify';
import { isProxyError, ProxyError, waitSeconds } from '../errors.js';
import type { LocalTokenResolver } from './local-tokens.js';
import type { Caller } from './auth.js';
import { presentedKey } from './caller-registry.js';
import { isLoopbackHost, type SecurityConfig } from '../config/security-settings.js';
import { LiveSecurity, SecurityRules } from './live-rules.js';
import { bodyOverridesMethod, overrideBodyKind, StreamedOverrideScanner } from './request-guard.js';
import { canonicalRequestPath, type CanonicalPath } from './canonical-path.js';
import { ADMIN_PREFIX } from './own-paths.js';
import { writeSocketError } from './server-options.js';
import { bucketStore, refillWindowMs } from './rate-limit-buckets.js';
import type { SharedCounters } from '../shared-state/counters.js';
import { MemoryCounters } from '../shared-state/memory-counters.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller's name ("anonymous" without PROXY_CLIENTS); '' when no caller was identified (refused before or at authentication, and /_proxy/ endpoints). For logs and metrics labels. */
    caller: string;
    /** The authenticated caller with its compiled rules; null for /_proxy/ endpoints. */
    callerInfo: Caller | null;
    /** The request's canonical path (canonical-path.ts), set first thing; null when the target was refused. */
    canonicalPath: CanonicalPath | null;
  }
}

export interface SecurityPluginOptions {
  readonly config: SecurityConfig;
  /** PROXY_HOST, for the start-up warning about unauthenticated listening. */
  readonly host: string;
  /** SUITECRM_TOKEN_PATH when set: refused like the token endpoint's own paths. */
  readonly tokenPath: string | undefined;
  /** REPLAY_BODY_LIMIT_BYTES: bodies up to this size are buffered, larger ones stream. */
  readonly replayBodyLimitBytes: number;
  /** Clock for the rate-limit buckets when `counters` is not given (tests pass a fake one). */
  readonly now?: () => number;
  /** Where the rate-limit buckets are counted (src/shared-state/); default: this process's memory. */
  readonly counters?: SharedCounters;
  /** Local tokens of OAuth-speaking tools (src/local-oauth/). */
  readonly localTokens?: LocalTokenResolver;
  /**
   * The rules in force, replaced by a configuration reload (src/reload/). Without it the rules
   * are fixed at start-up.
   */
  readonly live?: LiveSecurity;
}

const WWW_AUTHENTICATE = 'Bearer realm="suitecrm-auth-proxy"';

/**
 * Decided by the route that matched, not by the path: `/_proxy` without a slash is not an admin
 * route but the proxy's catch-all, and must get every check (the fuzz test found that one).
 */
function isAdminRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith(`${ADMIN_PREFIX}/`) === true;
}

interface BodyGuard {
  /** Bytes allowed; Infinity when a declared Content-Length was already checked. */
  readonly limit: number;
  /** Set for POST bodies Slim would parse that are (or may turn out) too large to buffer. */
  readonly scanner: StreamedOverrideScanner | undefined;
  /** Bodies up to this size are buffered and checked exactly instead (REPLAY_BODY_LIMIT_BYTES). */
  readonly bufferedUpTo: number;
  /** The declared length says the body will stream. */
  readonly streamed: boolean;
}

/**
 * Counts and scans a body on its way in: past the caller's limit it fails with 413; a streamed
 * body that looks like it carries `_METHOD` fails with 400. Either way SuiteCRM never gets a
 * complete request, and the connection is closed after the answer (the rest is never read).
 */
function guardBody(payload: Readable, reply: FastifyReply, guard: BodyGuard): Transform {
  let received = 0;
  let suspicious = false;
  const guarded = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > guard.limit) {
        reply.header('connection', 'close');
        return callback(new ProxyError('PAYLOAD_TOO_LARGE', `the body is larger than this caller's limit of ${guard.limit} bytes`));
      }
      suspicious ||= guard.scanner?.push(chunk) === true;
      if (suspicious && (guard.streamed || received > guard.bufferedUpTo)) {
        reply.header('connection', 'close');
        reply.request.log.warn({ event: 'method_override', caller: reply.request.caller, streamed: true }, 'refused a streamed POST body that may carry _METHOD');
        return callback(new ProxyError('BAD_REQUEST', 'the body may carry a _METHOD field, which SuiteCRM would treat as a different HTTP method (bodies larger than REPLAY_BODY_LIMIT_BYTES are checked without parsing); send the real method instead'));
      }
      callback(null, chunk);
    },
  });
  payload.on('error', (err) => guarded.destroy(err));
  // The body's consumer (the content-type parser, then undici) sees errors through its own listener.
  // Fastify never reads GET/HEAD bodies: without this, an aborted one would be an uncaught error.
  guarded.on('error', () => undefined);
  return payload.pipe(guarded);
}

function warnAtStartup(app: FastifyInstance, opts: SecurityPluginOptions): void {
  const { config } = opts;
  if (config.clients === undefined && !isLoopbackHost(opts.host)) {
    app.log.warn({ event: 'unauthenticated_listener', host: opts.host }, `PROXY_ALLOW_UNAUTHENTICATED=true: anyone who can reach ${opts.host} acts in SuiteCRM with the proxy's credentials; set PROXY_CLIENTS to require keys`);
  } else if (config.clients !== undefined && config.allowUnauthenticated) {
    app.log.warn({ event: 'unauthenticated_callers' }, 'PROXY_ALLOW_UNAUTHENTICATED=true: requests without a key are served as the caller "anonymous"');
  }
}

/** CONNECT never reaches Fastify: without this, Node just drops the socket. This proxy tunnels nothing. */
function refuseConnect(app: FastifyInstance): void {
  app.server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    app.log.info({ event: 'bad_target', method: 'CONNECT', remoteAddress: socket.remoteAddress }, 'refused a CONNECT request');
    writeSocketError(socket, new ProxyError('BAD_REQUEST', 'CONNECT is not supported: this is not a forward proxy'));
  });
}

/**
 * A local token this process has not seen yet (another replica or worker issued it) is looked up
 * first, the one wait authentication may make; a known token or a key goes straight on.
 */
function localTokenLookup(localTokens: LocalTokenResolver | undefined, request: FastifyRequest): Promise<void> | undefined {
  if (localTokens?.lookup === undefined || isAdminRoute(request) || request.routeOptions.config?.localEndpoint === 'token') return undefined;
  const key = presentedKey(request.headers as { authorization?: string; 'x-proxy-key'?: string });
  return key === undefined ? undefined : localTokens.lookup(key);
}

/**
 * The checks that need no body, in order: a safe target, a known caller, a rule that allows the
 * request, a declared length within the caller's limit. Returns the error to answer with, if any.
 */
function checkRequest(rules: SecurityRules, request: FastifyRequest, reply: FastifyReply): Error | undefined {
  // Node's parser stops at an Upgrade it does not take over: bytes behind it would wait for the keep-alive timeout.
  if (request.headers.upgrade !== undefined) reply.header('connection', 'close');
  if (request.headers.host === undefined && request.raw.httpVersion !== '1.0') {
    return new ProxyError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
  }
  const target = canonicalRequestPath(request.url, rules.config.maxUrlBytes);
  if (!target.ok) {
    request.log.info({ event: 'bad_target', code: target.code, remoteAddress: request.ip }, target.detail);
    return new ProxyError(target.code, target.detail);
  }
  request.canonicalPath = target;
  if (isAdminRoute(request)) return undefined;
  // The local token endpoint authenticates callers by the client credentials in the request itself.
  const localEndpoint = request.routeOptions.config?.localEndpoint;
  if (localEndpoint === 'token') return undefined;
  let caller: Caller;
  try {
    caller = rules.auth.authenticate(request);
  } catch (err) {
    // A stale local token gets SuiteCRM's own 401, which has no WWW-Authenticate.
    if (isProxyError(err)) reply.header('www-authenticate', WWW_AUTHENTICATE);
    return err as Error;
  }
  request.caller = caller.name;
  request.callerInfo = caller;
  // Local logout never reaches SuiteCRM, so the forwarding rules do not apply to it.
  const decision = localEndpoint === 'logout' ? { allowed: true as const } : rules.policy.check(caller.rules, request.method, target);
  if (!decision.allowed) {
    request.log.warn({ event: 'forbidden', caller: caller.name, rule: decision.rule, method: request.method, path: target.path }, 'request refused by an access rule');
    return new ProxyError('FORBIDDEN', 'this caller may not send this request through the proxy; the proxy log names the rule');
  }
  const declared = request.headers['content-length'];
  const limit = rules.bodyLimit(caller);
  if (declared !== undefined && Number(declared) > limit) {
    reply.header('connection', 'close');
    return new ProxyError('PAYLOAD_TOO_LARGE', `the body is larger than this caller's limit of ${limit} bytes`);
  }
  return undefined;
}

/** The body as the route reads it: counted and scanned (guardBody) where a limit or the streamed _METHOD check applies. */
function guardedPayload(request: FastifyRequest, reply: FastifyReply, payload: RequestPayload, replayBodyLimitBytes: number, bodyLimit: (caller: Caller) => number): RequestPayload {
  const caller = request.callerInfo;
  if (caller === null) return payload;
  // Without Content-Length or Transfer-Encoding an HTTP/1.1 request has no body (RFC 9112 §6.3):
  // nothing to count, and a guard stream per bodiless GET would cost more than its checks.
  if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined) return payload;
  const declared = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
  // A declared length was checked against the limit in onRequest, and Node enforces it exactly.
  const limit = declared === undefined ? bodyLimit(caller) : Infinity;
  const kind = request.method === 'POST' ? overrideBodyKind(request.headers['content-type']) : undefined;
  // Bodies that will be buffered get the exact check in preHandler; only streamed ones are scanned.
  const scan = kind !== undefined && (declared === undefined || declared > replayBodyLimitBytes);
  if (!Number.isFinite(limit) && !scan) return payload;
  return guardBody(payload, reply, {
    limit,
    scanner: scan ? new StreamedOverrideScanner(kind) : undefined,
    bufferedUpTo: replayBodyLimitBytes,
    streamed: declared !== undefined && declared > replayBodyLimitBytes,
  });
}

/**
 * Slim turns a POST with a `_METHOD` body field into another method. Buffered bodies are parsed
 * exactly here; streamed ones were scanned on their way in (guardBody).
 */
function refuseMethodOverride(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (request.method === 'POST' && Buffer.isBuffer(request.body) && bodyOverridesMethod(overrideBodyKind(request.headers['content-type']), request.body)) {
    request.log.warn({ event: 'method_override', caller: request.caller }, 'refused a POST body carrying _METHOD');
    return done(new ProxyError('BAD_REQUEST', 'the body carries a _METHOD field, which SuiteCRM would treat as a different HTTP method; send the real method instead'));
  }
  done();
}

/**
 * Per-caller rate limits. Not global: the library's per-route hook would run (async, ~30 µs) for
 * every request. Our own hook calls it only for callers that have a limit, which a reload may
 * give or take away. The buckets are SharedCounters: once per process, PROXY_WORKERS group or
 * Redis fleet; a store that cannot answer lets the request through (skipOnError) rather than fail it.
 */
async function registerRateLimit(app: FastifyInstance, live: LiveSecurity, counters: SharedCounters): Promise<void> {
  const rateLimitOf = (request: FastifyRequest) => live.current.rateLimit(request.callerInfo);
  await app.register(rateLimit, {
    global: false,
    store: bucketStore(counters),
    skipOnError: true,
    keyGenerator: (request: FastifyRequest) => request.caller,
    max: (request: FastifyRequest) => rateLimitOf(request)?.burst ?? 1,
    // Time to refill a full bucket: the store derives the refill rate (perSecond) from it.
    timeWindow: (request: FastifyRequest) => {
      const limit = rateLimitOf(request);
      return limit === undefined ? 1000 : refillWindowMs(limit);
    },
    onExceeded: (request: FastifyRequest) => {
      request.log.warn({ event: 'rate_limited', caller: request.caller }, 'caller exceeded its rate limit');
    },
    errorResponseBuilder: (_request, context) => new ProxyError('RATE_LIMITED', `this caller is over its rate limit of ${context.max} requests in a burst; retry after the Retry-After seconds`, {
      retryAfterSeconds: waitSeconds(context.ttl),
    }),
  });
  const limiter = app.rateLimit();
  app.addHook('onRequest', (request, reply, done) => {
    if (rateLimitOf(request) === undefined) return done();
    limiter.call(app, request, reply).then(() => done(), done);
  });
}

/** The hooks run in the order the checks are listed at the top of this file. */
async function security(app: FastifyInstance, opts: SecurityPluginOptions): Promise<void> {
  const live = opts.live ?? new LiveSecurity(new SecurityRules(opts.config, opts.tokenPath, opts.localTokens));
  const bodyLimit = (caller: Caller): number => live.current.bodyLimit(caller);

  app.decorateRequest('caller', '');
  app.decorateRequest('callerInfo', null);
  app.decorateRequest('canonicalPath', null);
  warnAtStartup(app, opts);
  refuseConnect(app);
  // One read per request: a reload between two hooks does not mix old and new rules.
  app.addHook('onRequest', (request, reply, done) => {
    const rules = live.current;
    const lookup = localTokenLookup(opts.localTokens, request);
    if (lookup === undefined) return done(checkRequest(rules, request, reply));
    lookup.then(() => done(checkRequest(rules, request, reply)), done);
  });
  app.addHook('preParsing', (request, reply, payload, done) => done(null, guardedPayload(request, reply, payload, opts.replayBodyLimitBytes, bodyLimit)));
  app.addHook('preHandler', refuseMethodOverride);
  await registerRateLimit(app, live, opts.counters ?? new MemoryCounters(opts.now));
}

// Hooks and decorations apply to the whole app, not only to routes registered inside this plugin.
(security as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const securityPlugin = security;
