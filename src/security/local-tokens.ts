/**
 * What the security plugin asks about a presented bearer value that may be a local token (one
 * the proxy's own token endpoint issued, src/local-oauth/). Defined here, on the callers' side
 * that uses it, so security/ does not depend on local-oauth/ (local-oauth/ builds on security/).
 */
export interface LocalAuthResult {
  readonly caller: string;
}

export interface LocalTokenResolver {
  /** Undefined: not a local token (a key, or nothing we issued). Otherwise the caller, or the error to answer with. */
  resolve(presented: string): LocalAuthResult | { readonly error: Error } | undefined;
  /**
   * Undefined when `resolve` can answer now (a key, or a local token this process knows); else a
   * promise that settles, never rejecting, once it can (one question to where the sessions live).
   */
  lookup?(presented: string): Promise<void> | undefined;
  /** The error for a live local token whose caller a configuration reload removed. */
  revoked(): Error;
}
