/**
 * The IPC protocol between the PROXY_WORKERS primary (which owns the one TokenManager) and its
 * workers. Tokens travel over the process's own IPC channel only, never over a socket.
 */
import type { ErrorCode } from '../errors.js';
import type { CachedToken, RenewReason, TokenFailure } from '../suitecrm-token/token.js';

/** Every message carries this tag so unrelated IPC traffic (cluster internals) is ignored. */
export const CHANNEL = 'suitecrm-proxy-token';

export type WorkerMessage =
  | { readonly channel: typeof CHANNEL; readonly type: 'get'; readonly id: number; readonly reason: RenewReason }
  /** The worker saw the token reach its refresh time: the primary renews ahead if due. */
  | { readonly channel: typeof CHANNEL; readonly type: 'refresh-due' }
  | { readonly channel: typeof CHANNEL; readonly type: 'rejected'; readonly token: CachedToken }
  | { readonly channel: typeof CHANNEL; readonly type: 'replay-rejected'; readonly token: CachedToken }
  | { readonly channel: typeof CHANNEL; readonly type: 'accepted' };

export type PrimaryMessage =
  /** The answer to `get` (with its id) or a pushed renewal (id 0). */
  | { readonly channel: typeof CHANNEL; readonly type: 'token'; readonly id: number; readonly token: CachedToken }
  | { readonly channel: typeof CHANNEL; readonly type: 'error'; readonly id: number; readonly code: ErrorCode; readonly detail: string;
      readonly retryAfterSeconds: number | undefined; readonly failure: TokenFailure | undefined }
  /** 401s are passed back without a renewal until this time (the 401 loop guard). */
  | { readonly channel: typeof CHANNEL; readonly type: 'reauth-blocked'; readonly until: number };

export function isMessage<T extends { channel: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && (value as { channel?: unknown }).channel === CHANNEL;
}
