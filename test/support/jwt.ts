/** Reading the SuiteCRM double's JWT access tokens, e.g. to scan log lines for their jti. */

/** The claims this double writes that tell whose token it is: `aud` is the OAuth2 client id, `sub` the user ('' for client_credentials). */
export interface TokenClaims {
  readonly jti: string;
  readonly aud: string;
  readonly sub: string;
}

/** The payload of a JWT (the base64url middle part), unverified; accepts a `Bearer ` prefix. */
export function claimsOf(jwt: string): TokenClaims {
  const payload = jwt.replace(/^Bearer /, '').split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
}

export function jtiOf(jwt: string): string {
  return claimsOf(jwt).jti;
}
