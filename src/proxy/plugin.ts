/**
 * The proxy is @fastify/http-proxy: a catch-all route, so every Fastify hook (auth, rate limits,
 * logging) applies to proxied requests, forwarded by @fastify/reply-from over an undici pool
 * whose interceptors add what is SuiteCRM's (see upstream-dispatcher.ts), to the path
 * upstream-path.ts builds from the request's canonical path. `/_proxy/` belongs to the proxy and
 * is never forwarded.
 *
 * Each option below is set on purpose (test/proxy/forwarding-options.test.ts covers each):
 * - redirects come back untouched (`internalRewriteLocationHeader: false`);
 * - no silent retries: reply-from retries a GET that got 503 up to 10 times by default, and reads
 *   `maxRetriesOn503: 0` as 10; `retryDelay` returning null turns every retry off;
 * - bodies stay ours (`proxyPayloads: false`, body.ts) and a buffered body is handed over as
 *   `body` + `contentType`, because reply-from runs JSON.stringify on an application/json body it
 *   finds on the request and cuts the Content-Type down to its bare type;
 * - reply-from's own request log lines are off: the proxy writes one line per request (app.ts);
 * - upstream failures become our JSON:API errors in `onError`;
 * - reply-from reaches SuiteCRM through `upstreamRequester` (upstream-request.ts), which hands a
 *   small answer of known length over complete, so it is sent in one write (`onResponse`):
 *   piping a response stream costs a second socket write and stream bookkeeping per request.
 */
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { CanonicalPath } from '../security/canonical-path.js';
import { DEFAULT_CREDENTIAL } from '../config/suitecrm-credentials.js';
import { ProxyError, upstreamError } from '../errors.js';
import type { TokenSources } from '../suitecrm-token/token.js';
import { apiUnavailable, type ApiBaseSource } from '../upstream/api-base.js';
import { registerPassThroughBodies, type ProxyBody } from './body.js';
import { isCallerGone } from './caller-gone.js';
import { abandonExchange, attachExchange, newExchange, type Exchange } from './exchange.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { upstreamPath } from './upstream-path.js';
import { CollectedBody, upstreamRequester, type UpstreamBody } from './upstream-request.js';

export const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the proxy route: whether the request waited for a token or was replayed; null elsewhere (decorated in app.ts). */
    proxyOutcome: Exchange | null;
  }
}

export interface ProxyPluginOptions {
  /** The pool to SuiteCRM with the token, replay and stale-socket interceptors composed on it. */
  readonly dispatcher: Dispatcher;
  /** Every SuiteCRM credential's tokens; a request gets its caller's. */
  readonly tokens: TokenSources;
  /** SUITECRM_URL: its origin is the upstream; its path (e.g. `/legacy`) prefixes paths outside the API. */
  readonly upstreamUrl: URL;
  /** Where SuiteCRM's API is (detected or SUITECRM_API_BASE): API requests go there. */
  readonly api: ApiBaseSource;
  /** UPSTREAM_TIMEOUT_SECONDS, read per request: a configuration reload may change it. */
  readonly timeoutMs: () => number;
  readonly replayBodyLimitBytes: number;
}

/** A complete small answer goes out with its headers in one write; anything else streams. */
function sendAnswer(reply: FastifyReply, body: UpstreamBody): void {
  reply.send(body instanceof CollectedBody ? body.bytes : body);
}

/**
 * The proxy route's preHandler: refuses what cannot be proxied, picks the caller's credential once
 * (every attempt of the request takes its tokens) and, while SuiteCRM's API base is not known yet,
 * waits for it with the token request.
 */
function chooseExchange(opts: ProxyPluginOptions) {
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    // Only checked origin-form targets ("/path?query", security plugin) can be proxied; the pool is bound to SUITECRM_URL.
    if (request.canonicalPath === null) {
      done(new ProxyError('BAD_REQUEST', 'the request target must be a path starting with /'));
      return;
    }
    // The caller's credential, chosen here once: every attempt of this request takes its tokens.
    const credential = request.callerInfo?.credential ?? DEFAULT_CREDENTIAL;
    const tokens = opts.tokens.source(credential);
    if (tokens === undefined) {
      // Only between a reload that removed the credential and a request authenticated before it.
      done(new ProxyError('TOKEN_UNAVAILABLE', `the SuiteCRM credential ${JSON.stringify(credential)} is no longer configured; send the request again`, { retryAfterSeconds: 1 }));
      return;
    }
    const exchange = newExchange(credential, tokens);
    request.proxyOutcome = exchange;
    // Its caller hung up while the body was read: nothing is sent to SuiteCRM.
    if (isCallerGone(reply)) {
      abandonExchange(exchange);
      return done();
    }
    if (opts.api.current() !== undefined) return done();
    // SuiteCRM's API is not found yet (SuiteCRM was down at start-up): its detection runs with
    // the token request, whose failure the caller gets; then the base is known, or asked for.
    exchange.tokenWaited = true;
    tokens.get('cold').then(() => opts.api.resolve()).then(() => done(), (err: unknown) => done(apiUnavailable(err)));
  };
}

/** reply-from needs some Content-Type with a body it is given; a caller's missing one stays missing (headers.ts). */
const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

/**
 * The shared options plus this request's buffered body, as an object that inherits the rest:
 * `{ ...options, body, contentType }` takes V8 (Node 20) a slow path of about 3 µs per request,
 * an eighth of the proxy's whole cost over bare on POST (bench/README.md); this about 0.05 µs.
 */
function withBody<T extends object>(options: T, body: Buffer, contentType: string): T & { body: Buffer; contentType: string } {
  const own = Object.create(options) as T & { body: Buffer; contentType: string };
  own.body = body;
  own.contentType = contentType;
  return own;
}

export async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  registerPassThroughBodies(app, opts.replayBodyLimitBytes);
  const hostHeader = opts.upstreamUrl.host;
  const sitePath = opts.upstreamUrl.pathname.replace(/\/+$/, '');
  const options: FastifyHttpProxyOptions = {
    // The origin only: the handler builds each path (upstream-path.ts).
    upstream: opts.upstreamUrl.origin,
    undici: upstreamRequester(opts.dispatcher) as unknown as FastifyHttpProxyOptions['undici'],
    httpMethods: [...PROXIED_METHODS],
    proxyPayloads: false,
    internalRewriteLocationHeader: false,
    disableRequestLogging: true,
    preHandler: chooseExchange(opts),
    handler(request, reply, _dest, replyOptions) {
      // http-proxy hands every request the same options object; reply-from reads `timeout` from it per call.
      replyOptions.timeout = opts.timeoutMs();
      const body = request.body as ProxyBody;
      const path = upstreamPath(request.canonicalPath as CanonicalPath, opts.api.current() as string, sitePath);
      return reply.from(path, Buffer.isBuffer(body) ? withBody(replyOptions, body, request.headers['content-type'] ?? FALLBACK_CONTENT_TYPE) : replyOptions);
    },
    replyOptions: {
      retryDelay: () => null,
      rewriteRequestHeaders(request) {
        const body = request.body as ProxyBody;
        const headers = upstreamRequestHeaders(request.headers, hostHeader, Buffer.isBuffer(body) ? body.length : undefined);
        return attachExchange(headers, request.proxyOutcome as Exchange);
      },
      rewriteHeaders: (headers) => downstreamResponseHeaders(headers) as typeof headers,
      onResponse: (_request, reply, res) => sendAnswer(reply as FastifyReply, res.stream as unknown as UpstreamBody),
      onError(reply, { error }) {
        reply.send(upstreamError(error));
      },
    },
  };
  await app.register(httpProxy, options);
}
