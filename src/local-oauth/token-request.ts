/**
 * Reads a token request the way SuiteCRM does: Slim 3 parses the body (form, multipart, JSON and
 * any `+json` type; anything else is no body at all), league reads parameters only from that
 * body, and client credentials fall back to HTTP Basic one by one. Parameter checks follow
 * league 8's order and error choices, so a tool sees the same 400s it would see from SuiteCRM.
 */
import { oauthErrors, type OAuthError } from './responses.js';
import { GRANT_TYPES, type LocalGrantType } from '../config/oauth-credentials.js';
import { slimMediaType } from '../security/slim-media-type.js';
export { GRANT_TYPES, type LocalGrantType };


export type TokenParameters = Readonly<Record<string, unknown>>;

export interface RawTokenRequest {
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: Buffer | undefined;
}

export interface ClientCredentials {
  /** league only requires client_id to be present; a non-string id simply names no client. */
  readonly clientId: unknown;
  /** A non-string secret (JSON) is refused with 400 when the client is checked, as league does. */
  readonly clientSecret: unknown;
}

export interface ParsedTokenRequest {
  readonly grantType: LocalGrantType;
  readonly params: TokenParameters;
  /**
   * The client credentials to try, in order: as sent, then (if different) with RFC 6749 §2.3.1
   * form-decoding of the Basic header, which clients such as simple-oauth2 apply by default.
   * SuiteCRM itself never decodes them.
   */
  readonly credentials: readonly ClientCredentials[];
}


function jsonBody(body: Buffer): TokenParameters | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  // PHP's (array) cast of a JSON list: integer keys, so no grant_type.
  return Array.isArray(value) ? Object.fromEntries(value.entries()) : (value as TokenParameters);
}

/** PHP's $_POST: the last duplicate wins; file parts are not fields. */
function fields(entries: Iterable<[string, unknown]>): TokenParameters {
  const params: Record<string, unknown> = {};
  for (const [name, value] of entries) if (typeof value === 'string') params[name] = value;
  return params;
}

/** Multipart bodies through the platform's own parser (undici's WHATWG `FormData`). */
async function multipartBody(contentType: string, body: Buffer): Promise<TokenParameters | undefined> {
  try {
    return fields(await new Response(Uint8Array.from(body), { headers: { 'content-type': contentType } }).formData());
  } catch {
    return undefined;
  }
}

/** Slim 3 `Request::getParsedBody`, narrowed to what league reads: undefined means "no parameters". */
export async function parseTokenBody(contentType: string | undefined, body: Buffer | undefined): Promise<TokenParameters | undefined> {
  if (body === undefined || body.length === 0) return undefined;
  const mediaType = slimMediaType(contentType);
  if (mediaType === 'application/json') return jsonBody(body);
  if (mediaType === 'application/x-www-form-urlencoded') return fields(new URLSearchParams(body.toString('utf8')));
  if (mediaType === 'multipart/form-data') return multipartBody(contentType ?? mediaType, body);
  return undefined;
}

interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

/** league's `getBasicAuthCredentials`: case-sensitive "Basic ", lenient base64, split at the first colon. */
export function basicCredentials(authorization: string | undefined): BasicCredentials | undefined {
  if (authorization === undefined || !authorization.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (decoded === '' || decoded === '0' || colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/** PHP `$params[$name] ?? $default`: a JSON null counts as missing. */
export function parameter(params: TokenParameters, name: string, fallback?: unknown): unknown {
  const value = params[name];
  return value === undefined || value === null ? fallback : value;
}

/** league 8's string parameters (secret, username, password, refresh_token): present and a string, or 400. */
export function stringParameter(params: TokenParameters, name: string, fallback?: string): string {
  const value = parameter(params, name, fallback);
  if (typeof value !== 'string') throw oauthErrors.invalidRequest(name);
  return value;
}

function credentialsFrom(params: TokenParameters, basic: BasicCredentials | undefined): ClientCredentials {
  const clientId = parameter(params, 'client_id', basic?.user);
  if (clientId === undefined) throw oauthErrors.invalidRequest('client_id');
  return { clientId, clientSecret: parameter(params, 'client_secret', basic?.password) };
}

/**
 * Reads grant type and client credentials; throws an OAuthError in SuiteCRM's dialect.
 * Grant-specific parameters (username, password, refresh_token, scope) are checked later, in
 * league's order, after the client is known.
 */
export async function parseTokenRequest(raw: RawTokenRequest): Promise<ParsedTokenRequest> {
  const params = await parseTokenBody(raw.contentType, raw.body);
  const grantType = params === undefined ? undefined : params.grant_type;
  if (params === undefined || !GRANT_TYPES.includes(grantType as LocalGrantType)) throw oauthErrors.unsupportedGrantType();
  const basic = basicCredentials(raw.authorization);
  const credentials = [credentialsFrom(params, basic)];
  if (basic !== undefined) {
    const decoded = { user: formDecode(basic.user), password: formDecode(basic.password) };
    if (decoded.user !== basic.user || decoded.password !== basic.password) {
      const alternative = credentialsFrom(params, decoded);
      const first = credentials[0];
      if (first !== undefined && (alternative.clientId !== first.clientId || alternative.clientSecret !== first.clientSecret)) {
        credentials.push(alternative);
      }
    }
  }
  return { grantType: grantType as LocalGrantType, params, credentials };
}

/**
 * league's `validateScopes`: space-separated, empty parts ignored. SuiteCRM knows no scope at
 * all, so the first non-empty one is refused (returned here, thrown by checkScope).
 */
export function scopeError(params: TokenParameters): OAuthError | undefined {
  const scope = parameter(params, 'scope', '');
  const scopes = Array.isArray(scope) ? scope.map(String) : String(scope).split(' ');
  const first = scopes.find((s) => s !== '');
  return first === undefined ? undefined : oauthErrors.invalidScope(first);
}

export function checkScope(params: TokenParameters): void {
  const err = scopeError(params);
  if (err !== undefined) throw err;
}
