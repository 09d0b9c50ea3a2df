/**
 * The SuiteCRM paths the proxy answers itself: SuiteCRM 7 with and without URL rewriting, and
 * SuiteCRM 8 under /legacy (all relative to SUITECRM_URL, like every proxied path).
 */
const API_PREFIXES = ['/Api', '/Api/index.php', '/legacy/Api', '/legacy/Api/index.php'] as const;

export const LOCAL_TOKEN_PATHS: readonly string[] = API_PREFIXES.map((prefix) => `${prefix}/access_token`);
export const LOCAL_LOGOUT_PATHS: readonly string[] = API_PREFIXES.map((prefix) => `${prefix}/V8/logout`);

const LOGOUT_KEYS = new Set(LOCAL_LOGOUT_PATHS.map((path) => path.toLowerCase()));

/**
 * A near-miss of a logout path (another case, trailing slashes, `;params`) that the local logout
 * route does not match. Such a path is never forwarded either: a web server that normalised it
 * would let a caller revoke the shared SuiteCRM token.
 */
export function isLogoutVariant(decodedPath: string): boolean {
  const key = decodedPath.split(';', 1)[0]?.replace(/\/+$/, '').toLowerCase() ?? '';
  return LOGOUT_KEYS.has(key);
}
