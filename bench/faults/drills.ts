/**
 * The fault catalogue: what each drill breaks, for how long, and what the proxy owes its callers
 * meanwhile. Every drill runs with DRILL_ENV (token retries back off up to 2 s, token requests
 * and API calls time out after 5 s) unless it says otherwise, and 6 callers.
 */
import type { FakeFaults } from '../../test/support/fake-suitecrm.js';
import type { DrillContext, DrillSpec } from '../../test/support/drill/drill.js';
import type { ClientResult } from '../../test/support/drill/load.js';

/**
 * Token requests a fault may cost: one renewal at once, then at most about one per backoff step
 * (0.5 s, 1 s, 2 s, 2 s, ...), each with one quick retry, plus refresh-ahead of short-lived
 * tokens. Stated generously as 4 + 2 per second of fault and recovery; a retry storm (one token
 * request per waiting caller) would be hundreds.
 */
function renewalBound(grantsPerRenewal = 1): Pick<DrillSpec, 'tokenBound' | 'tokenBoundText'> {
  return {
    tokenBound: (windowMs) => grantsPerRenewal * (4 + 2 * Math.ceil(windowMs / 1000)),
    tokenBoundText: `${grantsPerRenewal > 1 ? `${grantsPerRenewal} × ` : ''}(4 + 2 per second of fault and recovery)`,
  };
}

/** Token faults: TOKEN_RETRY_MAX_SECONDS (2 s) + one token request in flight (≤ 1 s in the slow drill) + 3 s for a busy machine. */
const TOKEN_RECOVERY_MS = 6000;
/** API faults: the next request after the fault is lifted succeeds; 3 s for a busy machine. */
const API_RECOVERY_MS = 3000;

/** A 2 s token (usable 1.8 s, refreshed from 1.3 s) surely expires during a 2.5 s fault. */
const SHORT_TTL = { ttlSeconds: 2 } as const;
const TOKEN_FAULT_HOLD_MS = 2500;

/** The proxy logged at least one failed token request: the fault really hit a renewal. */
const tokenRequestFailed: NonNullable<DrillSpec['exercised']> = (_result, { proxy }) =>
  proxy.events.some((e) => e.event === 'token_request_failed') ? undefined : 'no token request failed';

const tokenFault = (
  name: string,
  mode: 'slow' | 'error500' | 'html500' | 'garbage' | 'bad-gateway-502' | 'reset',
  extra: { tokenDelayMs?: number; env?: Record<string, string> } = {},
): DrillSpec => ({
  name,
  crm: SHORT_TTL,
  env: extra.env,
  holdMs: TOKEN_FAULT_HOLD_MS,
  inject: ({ crm }) => {
    crm.faults.tokenEndpoint = mode;
    if (extra.tokenDelayMs !== undefined) crm.faults.tokenDelayMs = extra.tokenDelayMs;
  },
  lift: ({ crm }) => {
    crm.faults.tokenEndpoint = 'ok';
    delete crm.faults.tokenDelayMs;
  },
  allowedFailures: ['TOKEN_UNAVAILABLE'],
  ...renewalBound(),
  recoveryBoundMs: TOKEN_RECOVERY_MS,
  exercised: tokenRequestFailed,
});

/** Responses-only faults where the caller must not notice anything. */
const replayed: NonNullable<DrillSpec['exercised']> = (result) => (result.replayed > 0 ? undefined : 'no request was replayed after a 401');

/** Sets one of the double's faults while the drill holds it, and clears it when lifted. */
function fault<K extends keyof FakeFaults>(key: K, value: FakeFaults[K]): Pick<DrillSpec, 'inject' | 'lift'> {
  return {
    inject: ({ crm }) => {
      crm.faults[key] = value;
    },
    lift: ({ crm }) => {
      delete crm.faults[key];
    },
  };
}

/** Repeats `action` every `everyMs` from injection until the fault is lifted. */
function repeating(everyMs: number, action: (ctx: DrillContext) => void): Pick<DrillSpec, 'inject' | 'lift'> {
  let timer: NodeJS.Timeout | undefined;
  return {
    inject: (ctx) => {
      action(ctx);
      timer = setInterval(() => action(ctx), everyMs);
    },
    lift: () => clearInterval(timer),
  };
}

/**
 * Where tokens die while requests are on their way, a request can be rejected twice: its replay
 * carried a fresh token that was revoked (or had died) too before it arrived. The proxy replays
 * once only, so SuiteCRM's own 401 goes back. That is allowed for a few requests (a slow caller
 * on a busy machine), never for most: a proxy without replay would fail nearly all of them.
 */
const STRAGGLER_401: Pick<DrillSpec, 'allowedFailures' | 'maxFailedShare'> = { allowedFailures: ['upstream 401'], maxFailedShare: 0.15 };

const idempotent = (r: ClientResult): boolean => r.method === 'GET' || r.method === 'DELETE';

export const DRILLS: readonly DrillSpec[] = [
  {
    name: 'SuiteCRM restart: connection refused, same port (token still valid)',
    holdMs: 1500,
    inject: ({ crm }) => crm.stop(),
    lift: ({ crm }) => crm.start(),
    allowedFailures: ['UPSTREAM_UNREACHABLE'],
    allowDropped: true,
    tokenBound: () => 1,
    tokenBoundText: 'the valid token is kept',
    recoveryBoundMs: API_RECOVERY_MS,
  },
  {
    name: 'token endpoint down (connection refused) while the token expires',
    crm: SHORT_TTL,
    holdMs: TOKEN_FAULT_HOLD_MS,
    inject: ({ crm }) => crm.stop(),
    lift: ({ crm }) => crm.start(),
    allowedFailures: ['TOKEN_UNAVAILABLE', 'UPSTREAM_UNREACHABLE'],
    allowDropped: true,
    ...renewalBound(),
    recoveryBoundMs: TOKEN_RECOVERY_MS,
    exercised: tokenRequestFailed,
  },
  tokenFault('token endpoint slow (3 s, beyond TOKEN_REQUEST_TIMEOUT_SECONDS=1)', 'slow', { tokenDelayMs: 3000, env: { TOKEN_REQUEST_TIMEOUT_SECONDS: '1' } }),
  tokenFault('token endpoint 500 (league unknown_error JSON)', 'error500'),
  tokenFault('token endpoint 500 HTML error page', 'html500'),
  tokenFault('token endpoint 200 with garbage', 'garbage'),
  tokenFault('token endpoint 502 from a gateway', 'bad-gateway-502'),
  tokenFault('token endpoint resets the connection', 'reset'),
  ...(['missing-expires-in', 'non-numeric-expires-in'] as const).map((mode): DrillSpec => ({
    name: `token endpoint 200 with ${mode === 'missing-expires-in' ? 'no' : 'a non-numeric'} expires_in (token really lives 3 s)`,
    crm: { ttlSeconds: 3 },
    holdMs: 4000,
    inject: ({ crm }) => {
      crm.faults.tokenEndpoint = mode;
      crm.revokeAll();
    },
    lift: ({ crm }) => {
      crm.faults.tokenEndpoint = 'ok';
    },
    ...STRAGGLER_401,
    ...renewalBound(),
    recoveryBoundMs: API_RECOVERY_MS,
    exercised: replayed,
  })),
  {
    name: 'every token revoked at once, 3 times 1 s apart (client_credentials)',
    holdMs: 2100,
    ...repeating(1000, ({ crm }) => crm.revokeAll()),
    ...STRAGGLER_401,
    tokenBound: () => 3 + 2,
    tokenBoundText: 'one per revocation + 2',
    recoveryBoundMs: API_RECOVERY_MS,
    exercised: replayed,
  },
  {
    name: 'every token revoked at once, 3 times 1 s apart (password grant: refresh token dies too)',
    grant: 'password',
    holdMs: 2100,
    ...repeating(1000, ({ crm }) => crm.revokeAll()),
    ...STRAGGLER_401,
    tokenBound: () => 2 * (3 + 2),
    tokenBoundText: 'refresh + password per revocation, + 4',
    recoveryBoundMs: API_RECOVERY_MS,
    exercised: replayed,
  },
  {
    name: 'refresh token rejected (7.13.3-7.14.4 invalid_client bug), password grant',
    grant: 'password',
    crm: SHORT_TTL,
    holdMs: 3000,
    ...fault('refreshInvalidClientBug', true),
    allowedFailures: [],
    ...renewalBound(2),
    recoveryBoundMs: API_RECOVERY_MS,
    exercised: (_r, { crm }) => (crm.tokenRequests.some((t) => t.grant === 'refresh_token' && t.status === 401) ? undefined : 'no refresh was rejected'),
  },
  {
    name: "SuiteCRM's clock 2 s ahead: 4 s tokens die after 2 s",
    crm: { ttlSeconds: 4 },
    holdMs: 5000,
    ...fault('clockSkewSeconds', 2),
    ...STRAGGLER_401,
    ...renewalBound(),
    recoveryBoundMs: API_RECOVERY_MS,
    exercised: replayed,
  },
  {
    name: 'SuiteCRM rejects every token (401 loop guard)',
    holdMs: 2500,
    ...fault('rejectAllTokens', true),
    // SuiteCRM's own 401 goes back to the caller once a fresh token was rejected too.
    allowedFailures: ['upstream 401'],
    ...renewalBound(),
    // The guard passes 401s back for up to TOKEN_RETRY_MAX_SECONDS after the last rejection.
    recoveryBoundMs: TOKEN_RECOVERY_MS,
  },
  {
    name: 'API resets connections after reading the request',
    holdMs: 1500,
    ...fault('api', 'reset'),
    allowedFailures: ['UPSTREAM_UNREACHABLE'],
    allowDropped: true,
    tokenBound: () => 1,
    tokenBoundText: 'a network error is not a token problem',
    recoveryBoundMs: API_RECOVERY_MS,
    exercised: (r) => (r.resent > 0 ? undefined : 'no idempotent request was re-sent'),
  },
  {
    name: 'API does not answer (UPSTREAM_TIMEOUT_SECONDS=3)',
    env: { UPSTREAM_TIMEOUT_SECONDS: '3' },
    holdMs: 3500,
    ...fault('api', 'hang'),
    allowedFailures: ['UPSTREAM_TIMEOUT'],
    allowDropped: true,
    tokenBound: () => 1,
    tokenBoundText: 'a timeout is not a token problem',
    recoveryBoundMs: API_RECOVERY_MS,
    // Every caller may be held in a request sent just before the lift; each ends at the 3 s
    // timeout, which undici checks about every 0.5 s; + 0.5 s for a busy machine.
    heldUntilMs: 4000,
    exercised: (r) => ((r.failures.UPSTREAM_TIMEOUT ?? 0) > 0 ? undefined : 'no request timed out'),
  },
  {
    name: 'kept-alive sockets go stale after 30 ms idle (reset on the next request)',
    staleSocketRelay: true,
    holdMs: 2000,
    inject: ({ relay }) => {
      relay!.staleAfterMs = 30;
    },
    lift: ({ relay }) => {
      relay!.staleAfterMs = undefined;
    },
    // A POST or PATCH on a stale socket is not re-sent: it may have been processed, as far as the proxy can tell.
    allowedFailures: ['UPSTREAM_UNREACHABLE'],
    mustSucceed: { why: 'idempotent requests are retried once on a fresh socket', test: idempotent },
    tokenBound: () => 1,
    tokenBoundText: 'sockets are not tokens',
    recoveryBoundMs: API_RECOVERY_MS,
    exercised: (_r, { relay }) => (relay!.cut > 0 ? undefined : 'no request met a stale socket'),
  },
  {
    name: 'API closes every keep-alive socket after its answer',
    holdMs: 2000,
    ...fault('api', 'close-after-response'),
    allowedFailures: [],
    mustSucceed: { why: 'idempotent requests are retried once on a fresh socket', test: idempotent },
    tokenBound: () => 1,
    tokenBoundText: 'sockets are not tokens',
    recoveryBoundMs: API_RECOVERY_MS,
  },
];
