/**
 * One token request with one grant: send it, then validate the answer into a Token or a
 * classified TokenRequestError. SuiteCRM's error bodies may echo the password (500 on a bad
 * password), so bodies are only pattern-matched here and never kept, logged or rethrown.
 */
import { request, type Dispatcher } from 'undici';
import type { GrantType } from '../config/settings.js';
import { detailFor, type SuiteCrmCredential } from '../config/suitecrm-credentials.js';
import { isTlsVerifyCode, unreachableCode, tlsVerifyHint } from '../errors.js';
import { ApiDetectionError, type ApiBaseSource } from '../upstream/api-base.js';

export interface Token {
  readonly accessToken: string;
  /** Lifetime SuiteCRM announced, in ms (or the fallback when expires_in was unusable). */
  readonly lifetimeMs: number;
  readonly expiresInReported: boolean;
  readonly refreshToken: string | undefined;
  /** Our own clock when the answer arrived: expiry is counted from here, not from the JWT. */
  readonly receivedAt: number;
  readonly grant: GrantType;
  /** The header value, built once per token so the hot path allocates nothing for it. */
  readonly authorization: string;
}

/**
 * rejected: SuiteCRM refused the configured credentials (retrying soon won't help).
 * misconfigured: the endpoint or request format is wrong (path, format, grant not enabled).
 * refresh_rejected: the refresh token no longer works; fall back to the configured grant.
 * transient: network, timeout, 5xx from something in between, garbage answers.
 */
export type FailureClass = 'rejected' | 'misconfigured' | 'refresh_rejected' | 'transient';

export class TokenRequestError extends Error {
  readonly code = 'TOKEN_REQUEST_FAILED';
  constructor(
    readonly failureClass: FailureClass,
    /** Short machine-friendly reason, safe to log (e.g. `invalid_client`, `ECONNREFUSED`). */
    readonly reason: string,
    /** Human explanation naming the setting to check; never contains a secret. */
    readonly detail: string,
    readonly status?: number,
  ) {
    super(`token request failed (${failureClass}: ${reason}): ${detail}`);
    this.name = 'TokenRequestError';
  }
}

/** The error as one credential's: its detail names the credential and points at its own fields. */
export function asCredentialError(err: unknown, credential: Pick<SuiteCrmCredential, 'name' | 'fromSettings'> | undefined): unknown {
  if (credential === undefined || !(err instanceof TokenRequestError)) return err;
  return new TokenRequestError(err.failureClass, err.reason, detailFor(credential, err.detail), err.status);
}

export interface GrantSettings {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tokenRequestFormat: 'form' | 'json';
  readonly tokenRequestTimeoutMs: number;
}

/** Used when expires_in is missing or unusable: short enough that a wrong guess heals soon. */
export const FALLBACK_LIFETIME_MS = 300_000;

function grantParams(settings: GrantSettings, grant: GrantType, refreshToken?: string): Record<string, string> {
  const params: Record<string, string> = {
    grant_type: grant,
    client_id: settings.clientId,
    client_secret: settings.clientSecret,
  };
  if (grant === 'password') {
    params.username = settings.username ?? '';
    params.password = settings.password ?? '';
  } else if (grant === 'refresh_token') {
    params.refresh_token = refreshToken ?? '';
  }
  // Never `scope`: SuiteCRM answers any non-empty scope with 400 invalid_scope.
  return params;
}

export interface TokenEndpointSettings {
  readonly suitecrmUrl: URL;
  readonly basePath: string;
  /** SUITECRM_TOKEN_PATH; undefined: the API base's /access_token. */
  readonly tokenPath: string | undefined;
}

/** SUITECRM_TOKEN_PATH appended to SUITECRM_URL when set, else `{apiBase}/access_token` (apiBase from the origin). */
export function tokenEndpoint(settings: TokenEndpointSettings, apiBase?: string): URL {
  const path = settings.tokenPath !== undefined ? settings.basePath + settings.tokenPath : `${apiBase ?? `${settings.basePath}/Api`}/access_token`;
  return new URL(path, settings.suitecrmUrl.origin);
}

/**
 * The token endpoint to send a token request to: without SUITECRM_TOKEN_PATH it is the API
 * base's, so this waits for its detection, whose failure is a failed token request.
 */
export async function resolveTokenEndpoint(settings: TokenEndpointSettings, api: ApiBaseSource): Promise<URL> {
  if (settings.tokenPath !== undefined) return tokenEndpoint(settings);
  try {
    return tokenEndpoint(settings, api.current() ?? (await api.resolve()));
  } catch (err) {
    if (err instanceof ApiDetectionError) throw new TokenRequestError(err.failureClass, err.reason, err.detail);
    throw err;
  }
}

/** What SuiteCRM's 500 `unknown_error` messages mean, without ever keeping the message. */
function classifyUnknownError(message: string): TokenRequestError | undefined {
  if (message.startsWith('The password is invalid')) {
    return new TokenRequestError('rejected', 'wrong_password', 'SuiteCRM rejected the password; check SUITECRM_USERNAME and SUITECRM_PASSWORD', 500);
  }
  if (message.startsWith('No user found with this username')) {
    return new TokenRequestError('rejected', 'unknown_user', 'SuiteCRM has no such user; check SUITECRM_USERNAME', 500);
  }
  if (message.includes('OAuth2Clients module with id') || message.includes('Module id is empty')) {
    return new TokenRequestError('rejected', 'unknown_client', 'SuiteCRM has no OAuth2 client with this id; check SUITECRM_CLIENT_ID', 500);
  }
  if (message === 'No user found') {
    return new TokenRequestError('rejected', 'client_without_user', 'the OAuth2 client has no associated user (or is a password client used with client_credentials); check the client in SuiteCRM and SUITECRM_GRANT_TYPE', 500);
  }
  return undefined;
}

function classifyError(status: number, body: unknown, grant: GrantType): TokenRequestError {
  const error = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : undefined;
  const message = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).message : undefined;
  if (grant === 'refresh_token' && (error === 'invalid_request' || error === 'invalid_client' || error === 'invalid_grant')) {
    return new TokenRequestError('refresh_rejected', String(error), 'SuiteCRM rejected the refresh token (revoked, expired, rotated, or the 7.13.3-7.14.4 refresh bug)', status);
  }
  if (error === 'invalid_client') {
    return new TokenRequestError('rejected', 'invalid_client', 'SuiteCRM rejected the client; check SUITECRM_CLIENT_ID, SUITECRM_CLIENT_SECRET and that the client allows SUITECRM_GRANT_TYPE', status);
  }
  if (error === 'unknown_error' && typeof message === 'string') {
    const known = classifyUnknownError(message);
    if (known) return known;
  }
  if (error === 'unsupported_grant_type') {
    return new TokenRequestError('misconfigured', 'unsupported_grant_type', 'SuiteCRM did not accept the grant; check SUITECRM_GRANT_TYPE (refresh_token needs SuiteCRM 7.10.21+) and SUITECRM_TOKEN_REQUEST_FORMAT', status);
  }
  if (error === 'invalid_request' || error === 'invalid_scope') {
    return new TokenRequestError('misconfigured', String(error), 'SuiteCRM found the token request malformed; check SUITECRM_CLIENT_ID, SUITECRM_USERNAME and SUITECRM_TOKEN_REQUEST_FORMAT', status);
  }
  if (status === 404 || status === 405) {
    return new TokenRequestError('misconfigured', `http_${status}`, 'no token endpoint at this address; check SUITECRM_TOKEN_PATH and SUITECRM_API_BASE (unset, the proxy finds the endpoint under SUITECRM_URL)', status);
  }
  return new TokenRequestError('transient', `http_${status}`, `the token endpoint answered HTTP ${status}`, status);
}

function parseLifetime(value: unknown): number | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

export function parseTokenResponse(body: unknown, grant: GrantType, receivedAt: number): Token {
  const doc = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const accessToken = doc.access_token;
  if (typeof accessToken !== 'string' || accessToken === '' || /[\s,]/.test(accessToken)) {
    throw new TokenRequestError('transient', 'invalid_response', 'the token endpoint answered 200 without a usable access_token (is SUITECRM_URL pointing at SuiteCRM?)', 200);
  }
  const lifetimeMs = parseLifetime(doc.expires_in);
  const refreshToken = typeof doc.refresh_token === 'string' && doc.refresh_token !== '' ? doc.refresh_token : undefined;
  return {
    accessToken,
    lifetimeMs: lifetimeMs ?? FALLBACK_LIFETIME_MS,
    expiresInReported: lifetimeMs !== undefined,
    refreshToken,
    receivedAt,
    grant,
    authorization: `Bearer ${accessToken}`,
  };
}

export interface GrantRequest {
  readonly grant: GrantType;
  readonly refreshToken?: string;
}

/** Sends one token request. Resolves to a Token or rejects with a TokenRequestError. */
export async function requestToken(
  settings: GrantSettings,
  endpoint: URL,
  dispatcher: Dispatcher,
  { grant, refreshToken }: GrantRequest,
  now: () => number = Date.now,
): Promise<Token> {
  const params = grantParams(settings, grant, refreshToken);
  const json = settings.tokenRequestFormat === 'json';
  const body = json ? JSON.stringify(params) : new URLSearchParams(params).toString();
  let response: Dispatcher.ResponseData;
  try {
    response = await request(endpoint, {
      method: 'POST',
      dispatcher,
      body,
      headers: {
        'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      headersTimeout: settings.tokenRequestTimeoutMs,
      bodyTimeout: settings.tokenRequestTimeoutMs,
      signal: AbortSignal.timeout(settings.tokenRequestTimeoutMs),
    });
  } catch (err) {
    const code = unreachableCode(err);
    if (isTlsVerifyCode(code)) {
      throw new TokenRequestError('misconfigured', code, `SuiteCRM's TLS certificate could not be verified (${code}); ${tlsVerifyHint(code)}`);
    }
    throw new TokenRequestError('transient', code, `the token endpoint ${endpoint.origin} could not be reached (${code}); check SUITECRM_URL and that SuiteCRM is up`);
  }
  let parsed: unknown;
  try {
    const text = await response.body.text();
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.statusCode === 200) {
    if (parsed === undefined) {
      throw new TokenRequestError('transient', 'invalid_response', 'the token endpoint answered 200 with a body that is not JSON (is SUITECRM_URL pointing at SuiteCRM?)', 200);
    }
    return parseTokenResponse(parsed, grant, now());
  }
  throw classifyError(response.statusCode, parsed, grant);
}
