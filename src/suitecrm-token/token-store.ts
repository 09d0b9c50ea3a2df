/**
 * Where the token of a credential is shared between the processes that use it.
 *
 * The TokenManager keeps its own lru-cache in front of a store and serves every request from that
 * cache; a store is consulted only when the manager renews (cold start, refresh ahead, 401). The
 * contract is small on purpose so other sharing schemes (Redis today; the workers of one host
 * over IPC later) are one class each:
 *
 * - `renew(known, grant)` returns a token that is not generation `known`: either one another
 *   process already put into the store, or the result of calling `grant` as the only renewer
 *   among the processes sharing the store. `grant` gets the newest refresh token the store
 *   knows (undefined: use your own). It must throw `TokenStoreUnavailableError` (and nothing
 *   else of its own) when the store cannot be used, so the manager falls back to renewing alone.
 * - `invalidate(generation)` marks the shared token as rejected by SuiteCRM, but only while it
 *   is still that generation: a 401 for an old token never discards a newer one.
 * - `onRenewed(listener)` (optional) tells the manager that another process stored a newer token;
 *   `latest()` reads it.
 */
import type { Token } from './grant.js';

/** A token as a store hands it out. `generation` is undefined when the token is not shared. */
export interface StoredToken {
  readonly token: Token;
  readonly generation: number | undefined;
  /** granted: this process asked SuiteCRM; adopted: another process had already renewed. */
  readonly source: 'granted' | 'adopted';
}

/** Asks SuiteCRM for a token; `newestRefreshToken` is the store's newest refresh token, if any. */
export type GrantFunction = (newestRefreshToken: string | undefined) => Promise<Token>;

export interface TokenStore {
  /** For logs and status: `memory`, `redis`. */
  readonly kind: string;
  /** False while the store cannot be used and renewals happen alone (always true for memory). */
  shared(): boolean;
  renew(known: number | undefined, grant: GrantFunction): Promise<StoredToken>;
  /** Fire and forget: never throws, never waits. */
  invalidate(generation: number): void;
  latest?(): Promise<StoredToken | undefined>;
  onRenewed?(listener: (generation: number) => void): void;
  close(): Promise<void>;
}

/** The store can't be used right now (unreachable, slow, undecryptable); the caller renews alone. */
export class TokenStoreUnavailableError extends Error {
  readonly code = 'TOKEN_STORE_UNAVAILABLE';
  constructor(readonly reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenStoreUnavailableError';
  }
}

export function isTokenStoreUnavailable(err: unknown): err is TokenStoreUnavailableError {
  return (err as { code?: unknown } | null)?.code === 'TOKEN_STORE_UNAVAILABLE';
}

/** One process, nothing shared: the manager's own single flight is all the coordination needed. */
export class MemoryTokenStore implements TokenStore {
  readonly kind = 'memory';
  shared(): boolean {
    return true;
  }
  async renew(_known: number | undefined, grant: GrantFunction): Promise<StoredToken> {
    return { token: await grant(undefined), generation: undefined, source: 'granted' };
  }
  invalidate(): void {
    /* nothing shared to invalidate */
  }
  async close(): Promise<void> {
    /* nothing to close */
  }
}
