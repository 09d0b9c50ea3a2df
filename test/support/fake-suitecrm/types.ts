/**
 * Public types and defaults of the SuiteCRM test double. Other test files, the
 * benchmark and the demo import these names, so they are part of the contract.
 */

import type { Layout } from './layout.js';

export type Dialect = 'L8' | 'L5';
export type { Layout };

export interface FakeClient {
  id: string;
  secret: string;
  /** SuiteCRM's `allowed_grant_type`. */
  grant: 'client_credentials' | 'password';
  /**
   * The client's "Associated user". Tokens from the client_credentials grant are
   * owned by this user. When omitted, the first configured user is used (a real
   * SuiteCRM without one answers 500 "No user found"; the double is lenient).
   */
  userId?: string;
  /** `is_confidential`, default true. Only client_credentials checks it (L8). */
  confidential?: boolean;
}

export interface FakeUser {
  id: string;
  username: string;
  password: string;
}

export interface FakeSuiteCrmOptions {
  /**
   * Where the API lives (layout.ts): `suitecrm7` (`/Api` only), `suitecrm8` (`/legacy/Api` only,
   * SuiteCRM 8's 404 page for `/Api/...`, Apache's for `/legacy/legacy/...`). Default: both answer.
   */
  layout?: Layout;
  /** Default ['/Api', '/legacy/Api']: both SuiteCRM 7 and 8 path forms answer (a layout sets its own). */
  prefixes?: string[];
  /** expires_in given out, default 3600. */
  ttlSeconds?: number;
  clients?: FakeClient[];
  users?: FakeUser[];
  /** Error-body dialect (league/oauth2-server 8.x or 5.x), default 'L8'. */
  dialect?: Dialect;
  host?: string;
  port?: number;
  /** Default true. Pass `false` to log one line per request to stderr. */
  quiet?: boolean;
}

export interface FakeFaults {
  tokenEndpoint?:
    | 'ok'
    | 'slow'
    | 'error500'
    | 'html500'
    | 'garbage'
    | 'missing-expires-in'
    | 'non-numeric-expires-in'
    | 'reset'
    | 'bad-gateway-502';
  /** Used by 'slow' (default 10 s there); adds latency to any mode when set. */
  tokenDelayMs?: number;
  /**
   * Token requests whose body names one of `clientIds` as client_id wait, before any other fault,
   * until `until` settles (or the double stops): a token endpoint that is slow for some OAuth2
   * clients only, held for exactly as long as a test needs.
   */
  tokenHold?: { clientIds: readonly string[]; until: Promise<unknown> };
  /**
   * V8 requests wait, after their body is read and before any other fault, until `until` settles
   * (or the double stops): SuiteCRM busy with them for exactly as long as a test needs.
   */
  apiHold?: { until: Promise<unknown> };
  /** The 7.13.3–7.14.4 bug: every refresh_token grant -> 401 invalid_client. */
  refreshInvalidClientBug?: boolean;
  /** Every V8 call with an otherwise valid token -> 401 "Access token has been revoked". */
  rejectAllTokens?: boolean;
  /**
   * V8 side: destroy the socket before answering / never answer / answer with Connection: close
   * then close / answer 503 with Retry-After (maintenance mode or an overloaded PHP-FPM behind Apache).
   */
  api?: 'ok' | 'reset' | 'hang' | 'close-after-response' | 'unavailable-503';
  apiDelayMs?: number;
  /** SuiteCRM's clock ahead of ours: tokens die this many seconds earlier than expires_in says. */
  clockSkewSeconds?: number;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  /** Path including the query string, exactly as received. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  bodyLength: number;
  bodySha256: string;
  /** The `jti` claim of the Bearer token sent, if the header held a decodable JWT. */
  tokenJti?: string;
  /** The client the Bearer token was issued to: its JWT `aud` claim (the OAuth2 client id). */
  tokenClientId?: string;
  /**
   * The SuiteCRM user the request runs as: the token row's `assigned_user_id`. That is the JWT `sub`
   * for password and refresh tokens, and the client's associated user (`FakeClient.userId`) for
   * client_credentials tokens, whose `sub` is '' (suitecrm-api.md §7). For a decodable JWT this double
   * did not issue, its `sub` when non-empty.
   */
  tokenUserId?: string;
  /** Final status; 0 while in flight or when the socket was dropped without an answer. */
  status: number;
  /** True if it changed state or was a successful read; false for 401/4xx/5xx or no answer. */
  applied: boolean;
  /** True once the client (the proxy) closed the connection before the answer was complete: it aborted the request. */
  closedBeforeAnswer: boolean;
}

export interface RecordedTokenRequest {
  grant: string;
  status: number;
  contentType: string;
  /** Parsed parameters with client_secret, password and refresh_token replaced by '***'. */
  body: Record<string, unknown>;
}

/**
 * An empty POST without credentials to the token endpoint: how the proxy finds SuiteCRM's API.
 * Answered as league does (400 unsupported_grant_type), whatever the token faults say, and kept
 * apart from token requests: it asks for no token.
 */
export interface RecordedProbe {
  path: string;
  status: number;
}

export interface FakeSuiteCrm {
  /** 'http://127.0.0.1:<port>' (no path). */
  readonly url: string;
  readonly port: number;
  /** Mutable: tests assign fields at any time; read at request time. */
  faults: FakeFaults;
  /** Every non-token request, in arrival order. */
  readonly requests: RecordedRequest[];
  readonly tokenRequests: RecordedTokenRequest[];
  /** Detection probes that reached the token endpoint (RecordedProbe); elsewhere they are ordinary `requests`. */
  readonly probes: RecordedProbe[];
  /** The path (with query) of every request received, token requests and probes included, in arrival order. */
  readonly seenPaths: string[];
  /** Successful and failed token requests, optionally by grant_type. */
  tokenRequestCount(grant?: string): number;
  /** Tokens actually issued, optionally by grant_type. */
  grantsIssued(grant?: string): number;
  /** An admin sets a new secret for an OAuth2 client: token requests with the old one get 401 invalid_client. */
  setClientSecret(clientId: string, secret: string): void;
  /** Soft-delete every issued token row (like a DB wipe): access and refresh tokens die. */
  revokeAll(): void;
  /** Admin revoke (`token_is_revoked = 1`): the access token dies, its refresh token still works. */
  revokeAccessToken(accessToken: string): void;
  isTokenValid(accessToken: string): boolean;
  /** Close the listener and every socket (clients get ECONNREFUSED) but keep state. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Stop for good. */
  close(): Promise<void>;
  /** Clear faults, counters and records; keep tokens. */
  reset(): void;
}

export const DEFAULT_USERS: FakeUser[] = [{ id: '1', username: 'admin', password: 'admin-P4ssw0rd!' }];

export const DEFAULT_CLIENTS: FakeClient[] = [
  { id: 'cc-client', secret: 'cc-secret-S3cr3t!', grant: 'client_credentials', userId: '1', confidential: true },
  { id: 'pw-client', secret: 'pw-secret-S3cr3t!', grant: 'password' },
];

export const DEFAULT_PREFIXES: readonly string[] = ['/Api', '/legacy/Api'];
export const DEFAULT_TTL_SECONDS = 3600;
export const DEFAULT_SLOW_TOKEN_DELAY_MS = 10_000;
