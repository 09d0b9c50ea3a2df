/**
 * Routes the proxy answers itself so OAuth-speaking tools work unchanged:
 * - the token endpoint (`POST /Api/access_token` and its SuiteCRM 8 / no-rewrite variants), which
 *   hands out local tokens for the callers' own client credentials, never a SuiteCRM token;
 * - logout (`POST /Api/V8/logout` and variants), which ends only the caller's local session and
 *   is never forwarded, so no caller can revoke the SuiteCRM token every caller shares.
 * Requests carrying a local token are authenticated by the security plugin through
 * `localTokenResolver`; the forwarder replaces the caller's Authorization with the shared token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyError } from '../errors.js';
import { looksLikeLocalAccessToken, type LocalSessions } from './local-sessions.js';
import { LOCAL_LOGOUT_PATHS, LOCAL_TOKEN_PATHS } from '../security/own-paths.js';
import type { OAuthCaller } from './client-registry.js';
import type { LoginObserver, LoginOutcome } from './login-metrics.js';
import type { LoginRateLimit } from './login-rate-limit.js';
import type { LoginThrottle } from './login-throttle.js';
import type { LocalTokenEndpoint, TokenEndpointResult } from './token-endpoint.js';
import { CORS_HEADERS, OAuthError, oauthErrors, renderLogout, renderOAuthError, renderTokenSuccess, type RenderedResponse } from './responses.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Set on routes the proxy answers itself. 'token': callers authenticate with client
     * credentials in the request, not with a key. 'logout': authenticated like any request, but
     * never forwarded, so the forwarding rules do not apply.
     */
    localEndpoint?: 'token' | 'logout';
  }
}


/** Token requests are a few hundred bytes; anything much larger is not one. */
const TOKEN_BODY_LIMIT_BYTES = 64 * 1024;

/** Sends bytes, so Fastify keeps the content type exactly as SuiteCRM sends it (no added charset). */
export function sendRendered(reply: FastifyReply, response: RenderedResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(Buffer.from(response.body, 'utf8'));
}

/** The bearer value of `Authorization: Bearer <value>`, as league reads it (case-sensitive prefix). */
function bearerValue(authorization: string | undefined): string | undefined {
  return authorization !== undefined && authorization.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
}

export interface LocalOAuthPluginOptions {
  readonly store: LocalSessions;
  /** Undefined when SuiteCRM's token endpoint is forwarded instead (PROXY_FORWARD_TOKEN_ENDPOINT=true). */
  readonly endpoint: LocalTokenEndpoint | undefined;
  readonly throttle: LoginThrottle;
  readonly rateLimit: LoginRateLimit;
  /** Told the caller (when the client id names one) and outcome of every token request. */
  readonly observeLogin?: LoginObserver;
}

function outcomeOf(error: OAuthError): LoginOutcome {
  if (error.status === 400) return 'malformed';
  return error.status === 429 ? 'rate_limited' : 'rejected';
}

/** A login from a blocked address (or client id at it): the proxy's own 429, logged with the scope. */
function throttled(observe: LoginObserver, request: FastifyRequest, caller: string | undefined, wait: number, scope: 'address' | 'client'): ProxyError {
  observe(caller, 'throttled');
  request.log.warn({ event: 'local_token_throttled', caller, scope, remoteAddress: request.ip }, `too many failed logins from this ${scope === 'address' ? 'address' : 'address for this client id'}`);
  const detail = scope === 'address'
    ? `too many failed logins from this address; retry after ${wait} seconds (LOCAL_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE)`
    : `too many failed logins for this client id from this address; retry after ${wait} seconds (LOCAL_LOGIN_FAILURES_PER_MINUTE)`;
  return new ProxyError('RATE_LIMITED', detail, { retryAfterSeconds: wait });
}

/** A refused token request gets SuiteCRM's own OAuth error answer, so the tool reacts as it would there. */
function refused(observe: LoginObserver, request: FastifyRequest, reply: FastifyReply, error: OAuthError, caller: string | undefined, grant: string | undefined): FastifyReply {
  observe(caller, outcomeOf(error));
  // The error type and hint are safe to log; they never carry a secret or a password.
  request.log.warn({ event: 'local_token_refused', caller, grant, error: error.errorType, hint: error.hint, remoteAddress: request.ip }, 'refused a local token request');
  return sendRendered(reply, renderOAuthError(error, request.headers.authorization));
}

/**
 * POST to the token endpoint: throttle checks, then the endpoint's answer (a local token or an
 * OAuth error). The throttle counts the attempt before its credentials are checked and takes the
 * count back unless they were wrong (login-throttle.ts), so it holds for concurrent guesses too.
 */
function tokenHandler(endpoint: LocalTokenEndpoint, opts: LocalOAuthPluginOptions, observe: LoginObserver) {
  const { throttle, rateLimit } = opts;
  const admit = async (caller: OAuthCaller): Promise<OAuthError | undefined> => {
    const wait = await rateLimit.take(caller);
    return wait === undefined ? undefined : oauthErrors.tooManyRequests(wait);
  };
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    // Read first, only to name the caller in the log: a blocked address gets 429 whatever it sent.
    const attempt = await endpoint.read({
      contentType: request.headers['content-type'],
      authorization: request.headers.authorization,
      body: Buffer.isBuffer(request.body) ? request.body : undefined,
    });
    if (attempt instanceof OAuthError) {
      const addressWait = await throttle.addressBlockedFor(request.ip);
      if (addressWait !== undefined) throw throttled(observe, request, undefined, addressWait, 'address');
      return refused(observe, request, reply, attempt, undefined, undefined);
    }
    const named = attempt.named?.name;
    const counted = await throttle.attempt(request.ip, attempt.clientId);
    if (counted.blocked !== undefined) throw throttled(observe, request, named, counted.blocked.waitSeconds, counted.blocked.scope);
    let result: TokenEndpointResult | undefined;
    try {
      result = await endpoint.answer(attempt, admit);
    } finally {
      // Wrong credentials stay counted; malformed requests (400) and the rate limit (429) guess nothing.
      await counted.settle(result !== undefined && !result.ok && outcomeOf(result.error) === 'rejected');
    }
    if (result.caller !== undefined) request.caller = result.caller;
    if (result.ok) {
      observe(result.caller, 'success');
      request.log.info({ event: 'local_token_issued', caller: result.caller, grant: result.grantType, session: result.issued.session.id }, 'issued a local token');
      return sendRendered(reply, renderTokenSuccess(result.issued));
    }
    return refused(observe, request, reply, result.error, result.named, result.grantType);
  };
}

/** Slim: OPTIONS (CORS preflight) gets 200 with the allowed methods, anything else 405. */
function tokenEndpointOtherMethod(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return request.method === 'OPTIONS'
    ? sendRendered(reply, { status: 200, headers: { ...CORS_HEADERS, 'content-type': 'text/plain' }, body: 'Allowed methods: POST' })
    : sendRendered(reply, { status: 405, headers: { ...CORS_HEADERS, allow: 'POST', 'content-type': 'application/json' }, body: '{"message":"Method not allowed. Must be one of: POST"}' });
}

/** Ends the caller's local session, if it presented one; never forwarded, never SuiteCRM's token. */
function logoutHandler(store: LocalSessions) {
  return (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const presented = bearerValue(request.headers.authorization);
    // The security hook has already checked the token; look its session up again to end it.
    const session = presented !== undefined && looksLikeLocalAccessToken(presented) ? store.authenticate(presented) : undefined;
    if (session !== undefined) {
      store.revoke(session);
      request.log.info({ event: 'local_logout', caller: session.caller, session: session.id }, 'ended a local session');
    } else {
      // A key (or no credential) is not a session: nothing to end, and SuiteCRM's token is never revoked.
      request.log.info({ event: 'local_logout', caller: request.caller, session: null }, 'logout without a local token: nothing to end');
    }
    return sendRendered(reply, renderLogout());
  };
}

export async function localOAuthPlugin(app: FastifyInstance, opts: LocalOAuthPluginOptions): Promise<void> {
  // Token requests are parsed here, like Slim would; every other body in this context is ignored.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: TOKEN_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));

  const observe: LoginObserver = opts.observeLogin ?? (() => undefined);
  if (opts.endpoint !== undefined) {
    const handler = tokenHandler(opts.endpoint, opts, observe);
    for (const url of LOCAL_TOKEN_PATHS) {
      app.route({ method: 'POST', url, config: { localEndpoint: 'token' }, handler });
      app.route({ method: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url, config: { localEndpoint: 'token' }, handler: tokenEndpointOtherMethod });
    }
  }

  const logout = logoutHandler(opts.store);
  for (const url of LOCAL_LOGOUT_PATHS) {
    app.route({ method: 'POST', url, config: { localEndpoint: 'logout' }, handler: logout });
  }
}
