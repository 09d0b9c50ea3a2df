/**
 * What the proxy route and the admin endpoints need from "the token": the TokenManager in a
 * single process, or a ClusterTokenClient in a PROXY_WORKERS worker that asks the primary,
 * which owns the one TokenManager of the process group.
 */
import type { Token } from './grant.js';
import type { CachedToken, RenewReason, TokenStatus } from './token-manager.js';

export interface TokenSource {
  /** The token to use right now, or undefined. Synchronous: this is the per-request hot path. */
  current(): CachedToken | undefined;
  /** A usable token, waiting for a renewal when needed; rejects with a ProxyError otherwise. */
  get(reason?: RenewReason): Promise<CachedToken>;
  /** SuiteCRM answered 401 for `token`; true when the request may be replayed. */
  rejected(token: Token): boolean;
  /** The replay with a fresh token got 401 too. */
  replayRejected(token: Token): void;
  /** A request succeeded with the current token. */
  accepted(): void;
  status(): TokenStatus;
}
