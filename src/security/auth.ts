/**
 * Who is calling: the caller a request's key belongs to, or "anonymous" when the proxy runs
 * without PROXY_CLIENTS (or allows unauthenticated callers). A failed attempt is logged with
 * the caller's address and the reason, never the key. The key itself is never forwarded
 * (proxy/headers.ts drops Authorization and X-Proxy-Key).
 */
import type { FastifyRequest } from 'fastify';
import { ProxyError } from '../errors.js';
import type { LocalTokenResolver } from './local-tokens.js';
import { ANONYMOUS_CALLER, type CallerSpec } from '../config/callers.js';
import { credentialOf } from '../config/credential-settings.js';
import { CallerRegistry, presentedKey } from './caller-registry.js';
import { compileCaller, type CompiledCaller } from './rules.js';

export interface Caller {
  readonly name: string;
  /** Undefined for anonymous callers: only the global rules apply. */
  readonly rules: CompiledCaller | undefined;
  readonly spec: CallerSpec | undefined;
  /** The SuiteCRM credential its requests are sent with (`suitecrm` in PROXY_CLIENTS, else `default`). */
  readonly credential: string;
}

export const ANONYMOUS: Caller = Object.freeze({ name: ANONYMOUS_CALLER, rules: undefined, spec: undefined, credential: credentialOf(undefined) });

export class Authenticator {
  private readonly registry: CallerRegistry | undefined;
  private readonly compiled: Map<string, Caller>;

  constructor(
    clients: readonly CallerSpec[] | undefined,
    private readonly allowUnauthenticated: boolean,
    /** Local tokens from the legacy token endpoint (issue #8) authenticate their caller like a key. */
    private readonly localTokens?: LocalTokenResolver,
  ) {
    this.registry = clients === undefined ? undefined : new CallerRegistry(clients);
    this.compiled = new Map((clients ?? []).map((spec) => [spec.name, { name: spec.name, rules: compileCaller(spec), spec, credential: credentialOf(spec) }]));
  }

  /** Returns the caller or throws UNAUTHENTICATED (401), or SuiteCRM's 401 for a stale local token. */
  authenticate(request: FastifyRequest): Caller {
    const key = presentedKey(request.headers as { authorization?: string; 'x-proxy-key'?: string });
    const local = key === undefined ? undefined : this.localTokens?.resolve(key);
    if (local !== undefined && !('error' in local)) return this.localCaller(local.caller, request);
    // A stale local token is refused even without PROXY_CLIENTS, so a logged-out tool sees its logout.
    const stale = local !== undefined && 'error' in local ? local.error : undefined;
    if (this.registry === undefined && stale === undefined) return ANONYMOUS;
    if (key === undefined) {
      if (this.allowUnauthenticated) return ANONYMOUS;
      request.log.warn({ event: 'auth_failed', reason: 'no key', remoteAddress: request.ip }, 'authentication failed: no proxy key presented');
      throw unauthenticated('no proxy key was presented; send Authorization: Bearer <key> or X-Proxy-Key: <key>');
    }
    // A key that merely looks like a local token is still a key.
    const spec = this.registry?.identify(key);
    const caller = spec === undefined ? undefined : this.compiled.get(spec.name);
    if (caller !== undefined) return caller;
    if (stale !== undefined) {
      request.log.warn({ event: 'auth_failed', reason: 'stale local token', remoteAddress: request.ip }, 'authentication failed: the local token is expired, logged out or unknown');
      throw stale;
    }
    request.log.warn({ event: 'auth_failed', reason: 'unknown key', remoteAddress: request.ip }, 'authentication failed: the proxy key matches no caller');
    throw unauthenticated('the proxy key is not valid');
  }

  /** The caller a live local token belongs to. */
  private localCaller(name: string, request: FastifyRequest): Caller {
    const caller = name === ANONYMOUS_CALLER && this.registry === undefined ? ANONYMOUS : this.compiled.get(name);
    if (caller !== undefined) return caller;
    // The caller was removed by a configuration reload: its sessions end with it.
    request.log.warn({ event: 'auth_failed', reason: 'removed caller', remoteAddress: request.ip }, 'authentication failed: the local token belongs to a caller that is no longer configured');
    throw this.localTokens?.revoked() ?? unauthenticated('the local token belongs to a caller that is no longer configured');
  }
}

function unauthenticated(detail: string): ProxyError {
  return new ProxyError('UNAUTHENTICATED', detail);
}
