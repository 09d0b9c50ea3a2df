/**
 * The paths the proxy answers itself: its own endpoints under `/_proxy` (src/admin/), and
 * SuiteCRM's token endpoint and logout (src/local-oauth/) in every spelling of the API prefix
 * (SuiteCRM 7 with and without URL rewriting, SuiteCRM 8 under /legacy; canonical-path.ts). Near
 * misses of the latter (another case, trailing slashes, `;params`) are refused by the access
 * rules (rules.ts).
 */
import { API_SPELLINGS } from './canonical-path.js';

/** The proxy's own endpoints (health, readiness, metrics): never forwarded. */
export const ADMIN_PREFIX = '/_proxy';

export const LOCAL_TOKEN_PATHS: readonly string[] = API_SPELLINGS.map((prefix) => `${prefix}/access_token`);
export const LOCAL_LOGOUT_PATHS: readonly string[] = API_SPELLINGS.map((prefix) => `${prefix}/V8/logout`);
