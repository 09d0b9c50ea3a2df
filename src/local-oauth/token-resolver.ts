/**
 * Local tokens as caller credentials: a live one authenticates its caller. A stale one (expired,
 * logged out, rotated away or forgotten) gets SuiteCRM's own 401 access_denied, so the tool's
 * re-login logic runs. `lookup` lets the security hook wait for a token this process has not
 * seen yet (another replica or worker issued it); a known one is answered without waiting.
 */
import type { LocalTokenResolver } from '../security/local-tokens.js';
import { looksLikeLocalAccessToken, type LocalSessions } from './local-sessions.js';
import { oauthErrors } from './responses.js';

export function localTokenResolver(store: LocalSessions): LocalTokenResolver {
  const revoked = (): Error => oauthErrors.accessDenied('Access token has been revoked');
  return {
    resolve(presented) {
      if (!looksLikeLocalAccessToken(presented)) return undefined;
      const session = store.authenticate(presented);
      return session === undefined || session === null ? { error: revoked() } : { caller: session.caller };
    },
    // Without it (sessions in this process) the security hook never even looks.
    ...(store.needsLookups ? { lookup: (presented: string) => (looksLikeLocalAccessToken(presented) ? store.lookup(presented) : undefined) } : {}),
    revoked,
  };
}
