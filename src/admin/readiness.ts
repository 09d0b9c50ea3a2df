/**
 * Readiness of every SuiteCRM credential (issue #13): each has a token or gets one within the
 * wait, in parallel, so one slow credential does not make the others look slow. Ready only when
 * all are and SuiteCRM's API has been found; the answer lists each credential's state and where
 * the API is and, when something fails, says which and why.
 */
import { isProxyError, ProxyError, type ErrorCode } from '../errors.js';
import type { GrantType } from '../config/settings.js';
import { eachSource, type TokenSource, type TokenSources } from '../suitecrm-token/token.js';
import { apiUnavailable, type ApiBaseSource, type ApiBaseState } from '../upstream/api-base.js';

export interface CredentialReadiness {
  readonly status: 'ready' | 'failing';
  readonly grant?: GrantType;
  readonly tokenExpiresInSeconds?: number;
  /** `memory`, `redis` or `primary`; tokenStoreShared is informational: readiness never fails because Redis is down. */
  readonly tokenStore: string;
  readonly tokenStoreShared: boolean;
  readonly code?: ErrorCode;
  readonly detail?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly credentials: Readonly<Record<string, CredentialReadiness>>;
  /** Where SuiteCRM's API is (`base` null while it is not known). */
  readonly suitecrmApi: ApiBaseState;
  /** The failing credentials' errors, each detail naming its credential. */
  readonly errors: readonly ProxyError[];
}

function withTimeout<T>(promise: Promise<T>, ms: number, running = 'the token request'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProxyError('TOKEN_UNAVAILABLE', `${running} is still running; try again shortly`, { retryAfterSeconds: 1 })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The error as this credential's: its detail names the credential (the token side's details already do). */
function named(name: string, err: unknown): ProxyError {
  const error = isProxyError(err) ? err : new ProxyError('TOKEN_UNAVAILABLE', 'no SuiteCRM token could be obtained; see the proxy log');
  const label = `SuiteCRM credential ${JSON.stringify(name)}`;
  if (error.detail.includes(label)) return error;
  return new ProxyError(error.code, `${label}: ${error.detail}`, { retryAfterSeconds: error.retryAfterSeconds });
}

/** One credential's state; a failing one also gives its error. */
async function credentialReadiness(name: string, source: TokenSource, waitMs: number): Promise<{ state: CredentialReadiness; error?: ProxyError }> {
  try {
    const token = source.current() ?? (await withTimeout(source.get('readiness'), waitMs));
    const status = source.status();
    return {
      state: {
        status: 'ready', grant: token.grant,
        tokenExpiresInSeconds: Math.max(0, Math.round((status.expiresInMs ?? 0) / 1000)),
        tokenStore: status.tokenStore, tokenStoreShared: status.tokenStoreShared,
      },
    };
  } catch (err) {
    const error = named(name, err);
    const { tokenStore, tokenStoreShared } = source.status();
    return { state: { status: 'failing', code: error.code, detail: error.detail, tokenStore, tokenStoreShared }, error };
  }
}

/** Why the API base is not known, if it is not (SUITECRM_TOKEN_PATH lets tokens come without it). */
async function apiError(api: ApiBaseSource, waitMs: number): Promise<ProxyError | undefined> {
  if (api.current() !== undefined) return undefined;
  try {
    await withTimeout(api.resolve(), waitMs, 'the detection of SuiteCRM\'s API');
    return undefined;
  } catch (err) {
    return apiUnavailable(err);
  }
}

export async function readiness(tokens: TokenSources, waitMs: number, api: ApiBaseSource): Promise<Readiness> {
  const sources = eachSource(tokens);
  const [results, apiFailure] = await Promise.all([
    Promise.all(sources.map(([name, source]) => credentialReadiness(name, source, waitMs))),
    apiError(api, waitMs),
  ]);
  const credentials = Object.fromEntries(sources.map(([name], i) => [name, results[i]!.state]));
  const errors = results.flatMap((result) => (result.error === undefined ? [] : [result.error]));
  // A failing token already says why when the API was not found; the API's own error only when it alone fails.
  if (apiFailure !== undefined && errors.length === 0) errors.push(apiFailure);
  return { ready: errors.length === 0, credentials, suitecrmApi: api.state(), errors };
}
