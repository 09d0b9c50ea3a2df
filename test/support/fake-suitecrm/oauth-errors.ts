/**
 * league/oauth2-server's OAuthServerException, in both dialects:
 * L8 (8.4.x, SuiteCRM 7.13.3+ / 8.3+) and L5 (5.1.6, older builds).
 */
import { CORS_HEADERS, phpJson, type Reply } from './http.js';
import type { Dialect } from './types.js';

export class OAuthServerError extends Error {
  constructor(
    message: string,
    readonly errorType: string,
    readonly status: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'OAuthServerError';
  }
}

const INVALID_REQUEST =
  'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.';

export function unsupportedGrantType(dialect: Dialect): OAuthServerError {
  const hint = dialect === 'L8' ? 'Check that all required parameters have been provided' : 'Check the `grant_type` parameter';
  return new OAuthServerError(
    'The authorization grant type is not supported by the authorization server.',
    'unsupported_grant_type',
    400,
    hint,
  );
}

export function invalidRequest(parameter: string): OAuthServerError {
  return new OAuthServerError(INVALID_REQUEST, 'invalid_request', 400, `Check the \`${parameter}\` parameter`);
}

export function invalidClient(): OAuthServerError {
  return new OAuthServerError('Client authentication failed', 'invalid_client', 401);
}

export function invalidScope(scope: string, dialect: Dialect): OAuthServerError {
  const shown = dialect === 'L8' ? htmlSpecialChars(scope) : scope;
  return new OAuthServerError(
    'The requested scope is invalid, unknown, or malformed',
    'invalid_scope',
    400,
    `Check the \`${shown}\` scope`,
  );
}

/** L8 answers 401, L5 answers 400. */
export function invalidRefreshToken(hint: string, dialect: Dialect): OAuthServerError {
  return new OAuthServerError('The refresh token is invalid.', 'invalid_request', dialect === 'L8' ? 401 : 400, hint);
}

export function accessDenied(hint: string): OAuthServerError {
  return new OAuthServerError(
    'The resource owner or authorization server denied the request.',
    'access_denied',
    401,
    hint,
  );
}

/** What the middleware catch-all makes of any other exception (SuiteCRM's repositories throw a lot). */
export function unknownError(message: string): OAuthServerError {
  return new OAuthServerError(message, 'unknown_error', 500);
}

/** `OAuthServerException::generateHttpResponse`. */
export function oauthErrorReply(error: OAuthServerError, dialect: Dialect, authorization: string | undefined): Reply {
  const payload: Record<string, unknown> =
    dialect === 'L8' ? { error: error.errorType, error_description: error.message } : { error: error.errorType, message: error.message };
  if (error.hint !== undefined) payload['hint'] = error.hint;
  if (dialect === 'L8') payload['message'] = error.message;

  const headers: Record<string, string> = { ...CORS_HEADERS, 'Content-type': 'application/json' };
  const hasAuthorization = authorization !== undefined && authorization !== '';
  if (error.errorType === 'invalid_client' && (dialect === 'L5' || hasAuthorization)) {
    const scheme = authorization?.startsWith('Bearer') ? 'Bearer' : 'Basic';
    headers['WWW-Authenticate'] = `${scheme} realm="OAuth"`;
  }
  return { status: error.status, headers, body: phpJson(payload) };
}

function htmlSpecialChars(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#039;');
}
