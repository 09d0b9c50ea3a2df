/**
 * The IPC protocol between the PROXY_WORKERS primary (which owns one TokenManager per SuiteCRM
 * credential) and its workers. Tokens travel over the process's own IPC channel only, never over
 * a socket. On the wire every message names its credential (`Tagged`): a worker's copy of one
 * credential's token is only ever filled from that credential's manager.
 */
import type { ErrorCode } from '../errors.js';
import type { CachedToken, RenewReason, TokenFailure } from '../suitecrm-token/token.js';
import { isOnChannel } from '../shared-state/ipc-message.js';

/** Every message carries this tag so unrelated IPC traffic (cluster internals) is ignored. */
export const CHANNEL = 'suitecrm-proxy-token';

export type WorkerMessage =
  | { readonly channel: typeof CHANNEL; readonly type: 'get'; readonly id: number; readonly reason: RenewReason }
  /** The worker saw the token reach its refresh time: the primary renews ahead if due. */
  | { readonly channel: typeof CHANNEL; readonly type: 'refresh-due' }
  | { readonly channel: typeof CHANNEL; readonly type: 'rejected'; readonly token: CachedToken }
  | { readonly channel: typeof CHANNEL; readonly type: 'replay-rejected'; readonly token: CachedToken }
  /** A request succeeded with `token`: sent once per token (it is proven), and when the 401 loop guard was up. */
  | { readonly channel: typeof CHANNEL; readonly type: 'accepted'; readonly token: CachedToken };

export type PrimaryMessage =
  /** The answer to `get` (with its id) or a pushed renewal (id 0). */
  | { readonly channel: typeof CHANNEL; readonly type: 'token'; readonly id: number; readonly token: CachedToken }
  | { readonly channel: typeof CHANNEL; readonly type: 'error'; readonly id: number; readonly code: ErrorCode; readonly detail: string;
      readonly retryAfterSeconds: number | undefined; readonly failure: TokenFailure | undefined }
  /** 401s are passed back without a renewal until this time (the 401 loop guard). */
  | { readonly channel: typeof CHANNEL; readonly type: 'reauth-blocked'; readonly until: number };

export function isMessage<T extends { channel: string }>(value: unknown): value is T {
  return isOnChannel<T>(value, CHANNEL);
}

/** A message as it travels: with the name of the credential it is about. */
export type Tagged<T> = T & { readonly credential: string };

export function taggedCredential(message: unknown): string | undefined {
  const credential = (message as { credential?: unknown }).credential;
  return typeof credential === 'string' ? credential : undefined;
}
