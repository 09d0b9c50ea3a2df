/**
 * The callers that may log in at the local token endpoint, found by client id; what they present
 * is compared with the digests of their configured secrets in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RateLimitSpec } from '../config/callers.js';
import { sha256, type OAuthCredentialSpec } from '../config/oauth-credentials.js';

/** A caller that may log in at the local token endpoint. */
export interface OAuthCaller {
  readonly name: string;
  readonly oauth: OAuthCredentialSpec;
  /** Its rateLimit (or PROXY_RATE_LIMIT_*): logins are counted against it in a bucket of their own. */
  readonly rateLimit?: RateLimitSpec;
}

function digestMatches(presented: string | undefined, expected: Buffer | undefined): boolean {
  // Hash even when there is nothing to compare, so a miss costs the same as a hit.
  const digest = sha256(presented ?? '');
  return timingSafeEqual(digest, expected ?? digest) && presented !== undefined && expected !== undefined;
}

/** Finds callers by client id and checks what they present. */
export class OAuthClientRegistry {
  private readonly byClientId: ReadonlyMap<string, OAuthCaller>;

  constructor(callers: readonly OAuthCaller[]) {
    this.byClientId = new Map(callers.map((caller) => [caller.oauth.clientId, caller]));
  }

  get size(): number {
    return this.byClientId.size;
  }

  /** Client ids are identifiers, not secrets: a plain lookup. */
  find(clientId: string): OAuthCaller | undefined {
    return this.byClientId.get(clientId);
  }

  static secretMatches(caller: OAuthCaller, secret: string | undefined): boolean {
    return digestMatches(secret, caller.oauth.clientSecretDigest);
  }

  static usernameMatches(caller: OAuthCaller, username: string): boolean {
    return digestMatches(username, caller.oauth.username === undefined ? undefined : sha256(caller.oauth.username));
  }

  static passwordMatches(caller: OAuthCaller, password: string): boolean {
    return digestMatches(password, caller.oauth.passwordDigest);
  }
}
