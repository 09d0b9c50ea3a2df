/**
 * The canonical path of a request: the one spelling every decision sees (caller rules,
 * PROXY_ALLOWED_PATH_PREFIXES, PROXY_READ_ONLY, the token endpoint and logout checks, the
 * request log) and the proxy forwards from. SuiteCRM's API answers under four spellings:
 * `/Api/...` (SuiteCRM 7), `/legacy/Api/...` (SuiteCRM 8) and both with `/index.php` (no URL
 * rewriting). The canonical one is SuiteCRM 7's, percent-decoded: `/Api/V8/...`,
 * `/Api/access_token`. The proxy then sends it to wherever SuiteCRM's API really is
 * (src/upstream/api-base.ts), so every spelling reaches the same endpoint.
 *
 * What stays as it was: a target that could climb out of its prefix (dot or empty segments,
 * `%2F`, backslashes, control bytes) is refused with 400 before anything else (request-guard.ts);
 * case matters (SuiteCRM's routes are case-sensitive: `/api/...` is not the API); a trailing
 * slash is kept (SuiteCRM answers 404 to it); the query string is never decoded, rewritten or
 * looked at. A path outside the API (which PROXY_ALLOWED_PATH_PREFIXES may allow) is only decoded.
 */
import { checkRequestTarget } from './request-guard.js';

export interface CanonicalPath {
  /** Percent-decoded; for the API in SuiteCRM 7's spelling (`/Api/V8/module/Accounts`). What every decision sees. */
  readonly path: string;
  /** The path as the caller encoded it, with the API prefix spelled `/Api`: what is forwarded. */
  readonly forward: string;
  /** True for SuiteCRM's API (`/Api` and below, in any spelling). */
  readonly api: boolean;
}

export type PathVerdict =
  | ({ readonly ok: true } & CanonicalPath)
  | { readonly ok: false; readonly code: 'BAD_REQUEST' | 'URI_TOO_LONG'; readonly detail: string };

/** The canonical API prefix. */
export const API_PREFIX = '/Api';
/** SuiteCRM 8's prefix in front of the API. */
export const LEGACY_PREFIX = '/legacy';

/** The spellings of the API prefix with their number of path segments, longest first. */
const SPELLINGS: ReadonlyArray<readonly [string, number]> = [
  ['/legacy/Api/index.php', 3], ['/legacy/Api', 2], ['/Api/index.php', 2], ['/Api', 1],
];
/** Every spelling, shortest first: where the proxy answers its own endpoints (own-paths.ts). */
export const API_SPELLINGS: readonly string[] = SPELLINGS.map(([spelling]) => spelling).reverse();

/** The spelling `path` starts with as whole segments (or, for rule text, followed by `*`). */
function spellingOf(path: string, wildcard: boolean): readonly [string, number] | undefined {
  for (const entry of SPELLINGS) {
    const [spelling] = entry;
    if (!path.startsWith(spelling)) continue;
    const next = path.charCodeAt(spelling.length);
    if (Number.isNaN(next) || next === 47 /* / */ || (wildcard && next === 42 /* * */)) return entry;
  }
  return undefined;
}

/** Where the part after `segments` path segments starts in `path` (which starts with `/`). */
function afterSegments(path: string, segments: number): number {
  let at = 0;
  for (let i = 0; i < segments; i++) {
    const next = path.indexOf('/', at + 1);
    if (next === -1) return path.length;
    at = next;
  }
  return at;
}

/** Canonicalises a path the guard accepted: `decoded` is `raw` percent-decoded (both without the query). */
function canonicalise(raw: string, decoded: string): { readonly ok: true } & CanonicalPath {
  const found = spellingOf(decoded, false);
  if (found === undefined) return { ok: true, path: decoded, forward: raw, api: false };
  const [spelling, segments] = found;
  // The fast path: already canonical and plain, nothing to build.
  if (segments === 1 && raw === decoded) return { ok: true, path: raw, forward: raw, api: true };
  const path = API_PREFIX + decoded.slice(spelling.length);
  // No %2F gets past the guard, so the raw path has its slashes where the decoded one has them.
  const forward = raw === decoded ? path : API_PREFIX + raw.slice(afterSegments(raw, segments));
  return { ok: true, path, forward, api: true };
}

/**
 * The request target (`request.url`) checked (request-guard.ts) and canonicalised. Runs on every
 * request: a plain target already in canonical spelling allocates nothing but the verdict.
 */
export function canonicalRequestPath(target: string, maxUrlBytes: number): PathVerdict {
  const verdict = checkRequestTarget(target, maxUrlBytes);
  return verdict.ok ? canonicalise(verdict.rawPath, verdict.decodedPath) : verdict;
}

/**
 * Rule text (a PROXY_ALLOWED_PATH_PREFIXES prefix, a caller's path pattern, SUITECRM_TOKEN_PATH)
 * in canonical spelling: `/legacy/Api/V8/module/Accounts*` -> `/Api/V8/module/Accounts*`.
 */
export function canonicalSpelling(text: string): string {
  const found = spellingOf(text, true);
  return found === undefined || found[1] === 1 ? text : API_PREFIX + text.slice(found[0].length);
}

/**
 * Rule text that stops short of SuiteCRM 8's `/legacy/Api` (`/legacy/`, `/legacy*`) covered
 * `/legacy/Api/...` spellings before they were canonical: it still covers the API.
 */
export function coversLegacyApi(head: string): boolean {
  return head.length > 1 && `${LEGACY_PREFIX}${API_PREFIX}`.startsWith(head) && head !== `${LEGACY_PREFIX}${API_PREFIX}`;
}

const LOOSE_SPELLINGS = API_SPELLINGS.map((spelling) => spelling.toLowerCase()).reverse();

/**
 * A path as a lenient web server might read it: any case, without `;params` or trailing
 * slashes, in canonical spelling. The checks that keep SuiteCRM's own token endpoint and logout
 * out of reach compare this, so a near miss of them is refused too.
 */
export function endpointKey(path: string): string {
  let key = path.toLowerCase();
  const params = key.indexOf(';');
  if (params !== -1) key = key.slice(0, params);
  key = key.replace(/\/+$/, '');
  for (const spelling of LOOSE_SPELLINGS) {
    if (key.startsWith(spelling) && (key.length === spelling.length || key.charCodeAt(spelling.length) === 47)) {
      return `/api${key.slice(spelling.length)}`;
    }
  }
  return key;
}
