/**
 * The SuiteCRM paths the proxy answers itself, in every spelling of the API prefix (SuiteCRM 7
 * with and without URL rewriting, SuiteCRM 8 under /legacy; canonical-path.ts). Near misses of
 * them (another case, trailing slashes, `;params`) are refused by the access rules (rules.ts).
 */
import { API_SPELLINGS } from './canonical-path.js';

export const LOCAL_TOKEN_PATHS: readonly string[] = API_SPELLINGS.map((prefix) => `${prefix}/access_token`);
export const LOCAL_LOGOUT_PATHS: readonly string[] = API_SPELLINGS.map((prefix) => `${prefix}/V8/logout`);
