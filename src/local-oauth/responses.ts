/**
 * SuiteCRM's own answers, byte for byte where a legacy tool might look: league/oauth2-server 8.x
 * errors (the dialect of SuiteCRM 7.13.3+ and 8.3+), the token success body and the V8 logout
 * body. The one deliberate difference: a wrong password is never echoed back.
 */

/** SuiteCRM adds these to every API response (`Api/Core/app.php`); PATCH is missing there too. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
};

const INVALID_REQUEST_MESSAGE =
  'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.';

/** league's OAuthServerException: `error`, a message, an optional hint and an HTTP status. */
export class OAuthError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly status: number,
    readonly hint?: string,
    /** Sent as Retry-After (the proxy's own 429; league has none). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

export function isOAuthError(err: unknown): err is OAuthError {
  return err instanceof OAuthError;
}

export const oauthErrors = {
  unsupportedGrantType: (): OAuthError => new OAuthError('unsupported_grant_type',
    'The authorization grant type is not supported by the authorization server.', 400,
    'Check that all required parameters have been provided'),
  invalidRequest: (parameter: string): OAuthError => new OAuthError('invalid_request', INVALID_REQUEST_MESSAGE, 400,
    `Check the \`${parameter}\` parameter`),
  invalidClient: (): OAuthError => new OAuthError('invalid_client', 'Client authentication failed', 401),
  /** league 8 passes the scope through htmlspecialchars before quoting it in the hint. */
  invalidScope: (scope: string): OAuthError => new OAuthError('invalid_scope',
    'The requested scope is invalid, unknown, or malformed', 400, `Check the \`${htmlSpecialChars(scope)}\` scope`),
  invalidRefreshToken: (hint: string): OAuthError => new OAuthError('invalid_request', 'The refresh token is invalid.', 401, hint),
  accessDenied: (hint: string): OAuthError => new OAuthError('access_denied',
    'The resource owner or authorization server denied the request.', 401, hint),
  /** The proxy's own: a caller over its rateLimit. SuiteCRM has no limit, so this is league's shape with our own error. */
  tooManyRequests: (retryAfterSeconds: number): OAuthError => new OAuthError('too_many_requests',
    'Too many token requests for this client.', 429, `Retry after ${retryAfterSeconds} seconds (the caller's rateLimit)`, retryAfterSeconds),
  /** SuiteCRM's repositories throw instead of returning null; league's middleware makes that a 500. */
  unknownError: (message: string): OAuthError => new OAuthError('unknown_error', message, 500),
};

export interface RenderedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * `OAuthServerException::generateHttpResponse` (league 8): keys error, error_description, hint?,
 * message; `Content-type: application/json`; `WWW-Authenticate` only on invalid_client and only
 * when the request carried an Authorization header.
 */
export function renderOAuthError(err: OAuthError, authorization: string | undefined): RenderedResponse {
  const payload: Record<string, string> = { error: err.errorType, error_description: err.message };
  if (err.hint !== undefined) payload.hint = err.hint;
  payload.message = err.message;
  const headers: Record<string, string> = { ...CORS_HEADERS, 'content-type': 'application/json' };
  if (err.errorType === 'invalid_client' && authorization !== undefined && authorization !== '') {
    headers['www-authenticate'] = `${authorization.startsWith('Bearer') ? 'Bearer' : 'Basic'} realm="OAuth"`;
  }
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  return { status: err.status, headers, body: phpJson(payload) };
}

export interface IssuedTokens {
  readonly accessToken: string;
  readonly expiresInSeconds: number;
  /** Only for the password and refresh_token grants, as in SuiteCRM. */
  readonly refreshToken?: string;
}

/** `BearerTokenResponse`: 200, compact JSON in this key order, never cached. */
export function renderTokenSuccess(tokens: IssuedTokens): RenderedResponse {
  const payload: Record<string, string | number> = {
    token_type: 'Bearer',
    expires_in: tokens.expiresInSeconds,
    access_token: tokens.accessToken,
  };
  if (tokens.refreshToken !== undefined) payload.refresh_token = tokens.refreshToken;
  return {
    status: 200,
    headers: { ...CORS_HEADERS, pragma: 'no-cache', 'cache-control': 'no-store', 'content-type': 'application/json; charset=UTF-8' },
    body: phpJson(payload),
  };
}

/** `LogoutController`: 200, pretty-printed like every V8 controller answer. */
export function renderLogout(): RenderedResponse {
  return {
    status: 200,
    headers: { ...CORS_HEADERS, 'content-type': 'application/vnd.api+json', accept: 'application/vnd.api+json' },
    body: JSON.stringify({ meta: { message: 'You have been successfully logged out' }, data: [] }, null, 4),
  };
}

/** PHP `json_encode` with default flags: compact, `/` and non-ASCII escaped. */
export function phpJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function htmlSpecialChars(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#039;');
}
