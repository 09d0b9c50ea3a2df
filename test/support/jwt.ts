/** Reading the SuiteCRM double's JWT access tokens, e.g. to scan log lines for their jti. */
export function jtiOf(jwt: string): string {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
  return payload.jti;
}
