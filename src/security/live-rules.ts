/**
 * The inbound rules in force: callers and their keys, access rules, body and rate limits, built
 * from one SecurityConfig. The security plugin reads `LiveSecurity.current` once per hook, so a
 * reload swaps all of it between two requests: a removed or changed key is refused from the next
 * request on, and requests already past authentication finish as they started.
 */
import type { LocalTokenResolver } from './local-tokens.js';
import { Authenticator, type Caller } from './auth.js';
import type { RateLimitSpec } from '../config/callers.js';
import type { SecurityConfig } from '../config/security-settings.js';
import { AccessPolicy } from './rules.js';

export class SecurityRules {
  readonly auth: Authenticator;
  readonly policy: AccessPolicy;

  /** `tokenPath`: SUITECRM_TOKEN_PATH when set, refused like the token endpoint's own paths. */
  constructor(readonly config: SecurityConfig, tokenPath: string | undefined, localTokens: LocalTokenResolver | undefined) {
    this.auth = new Authenticator(config.clients, config.allowUnauthenticated, localTokens);
    this.policy = new AccessPolicy({
      allowedPathPrefixes: config.allowedPathPrefixes,
      forwardTokenEndpoint: config.forwardTokenEndpoint,
      tokenPaths: tokenPath === undefined ? [] : [tokenPath],
      readOnly: config.readOnly,
    });
  }

  bodyLimit(caller: Caller): number {
    return Math.min(this.config.bodyLimitBytes, caller.spec?.bodyLimitBytes ?? Infinity);
  }

  rateLimit(caller: Caller | null): RateLimitSpec | undefined {
    return caller === null ? undefined : (caller.spec?.rateLimit ?? this.config.defaultRateLimit);
  }
}

/** The rules a running proxy uses; replaced whole by a reload. */
export class LiveSecurity {
  constructor(public current: SecurityRules) {}

  replace(next: SecurityRules): void {
    this.current = next;
  }
}
