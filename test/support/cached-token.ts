/** A CachedToken as the PROXY_WORKERS primary hands it to its workers, for the cluster unit tests. */
import type { CachedToken } from '../../src/suitecrm-token/token.js';

/** Usable for `lifetimeMs` minus 5 s from `now`, due for refresh 20 s before the end. */
export function cachedToken(name: string, now: number, lifetimeMs = 60_000): CachedToken {
  return {
    accessToken: name, lifetimeMs, expiresInReported: true, refreshToken: undefined, receivedAt: now,
    grant: 'client_credentials', authorization: `Bearer ${name}`, usableUntil: now + lifetimeMs - 5000, refreshAt: now + lifetimeMs - 20_000,
  };
}
