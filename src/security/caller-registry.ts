/**
 * Which caller a request is: the key it presents, matched against the callers' key digests in
 * constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import { sha256, type CallerSpec } from '../config/callers.js';

/** Finds the caller a presented key belongs to, comparing digests in constant time. */
export class CallerRegistry {
  constructor(readonly callers: readonly CallerSpec[]) {}

  identify(presentedKey: string): CallerSpec | undefined {
    const digest = sha256(presentedKey);
    let found: CallerSpec | undefined;
    // No early exit: the time taken does not depend on which caller (if any) matched.
    for (const caller of this.callers) {
      // A caller without a key is compared against the digest itself, so every caller costs the same and none matches.
      const matched = timingSafeEqual(digest, caller.keyDigest ?? digest) && caller.keyDigest !== undefined;
      if (matched && found === undefined) found = caller;
    }
    return found;
  }
}

/**
 * The key a request presents: `X-Proxy-Key`, else `Authorization: Bearer <key>`.
 * Returns undefined when neither is there.
 */
export function presentedKey(headers: { authorization?: string; 'x-proxy-key'?: string | string[] }): string | undefined {
  const direct = headers['x-proxy-key'];
  if (typeof direct === 'string' && direct !== '') return direct.trim();
  if (Array.isArray(direct)) return direct.join(',');
  const auth = headers.authorization;
  if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim();
  return undefined;
}
