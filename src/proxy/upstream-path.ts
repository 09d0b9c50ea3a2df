/**
 * The path a request is sent to SuiteCRM on. An API request goes to the API base
 * (src/upstream/api-base.ts) plus its canonical path (src/security/canonical-path.ts), as the
 * caller encoded it: `/Api/V8/...`, `/legacy/Api/V8/...` and their `/index.php` forms all reach the
 * same endpoint, whatever SUITECRM_URL says and whichever SuiteCRM answers. Any other path (only
 * forwarded when PROXY_ALLOWED_PATH_PREFIXES allows it) is appended to SUITECRM_URL as it came,
 * except that a `/legacy` both of them name is not doubled. The query string is added by
 * @fastify/reply-from, untouched.
 */
import { API_PREFIX, LEGACY_PREFIX, type CanonicalPath } from '../security/canonical-path.js';

/** `sitePath`: SUITECRM_URL's path ('' or e.g. '/legacy'); `apiBase`: from the origin, e.g. '/legacy/Api'. */
export function upstreamPath(target: CanonicalPath, apiBase: string, sitePath: string): string {
  const path = target.forward;
  if (target.api) return apiBase === API_PREFIX ? path : apiBase + path.slice(API_PREFIX.length);
  const legacy = sitePath.endsWith(LEGACY_PREFIX) && (path === LEGACY_PREFIX || path.startsWith(`${LEGACY_PREFIX}/`));
  return (legacy ? sitePath.slice(0, -LEGACY_PREFIX.length) : sitePath) + path;
}
