/**
 * Readiness of every SuiteCRM credential (issue #13): each has a token or gets one within the
 * wait, in parallel, so one slow credential does not make the others look slow. Ready only when
 * all are; the answer lists each credential's state and, when one fails, says which and why.
 */
import { isProxyError, ProxyError, type ErrorCode } from '../errors.js';
import type { GrantType } from '../config/settings.js';
import type { TokenSource, TokenSources } from '../suitecrm-token/token.js';

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
  /** The failing credentials' errors, each detail naming its credential. */
  readonly errors: readonly ProxyError[];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProxyError('TOKEN_UNAVAILABLE', 'the token request is still running; try again shortly', { retryAfterSeconds: 1 })), ms);
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

async function credentialReadiness(name: string, source: TokenSource, waitMs: number): Promise<CredentialReadiness | ProxyError> {
  try {
    const token = source.current() ?? (await withTimeout(source.get('readiness'), waitMs));
    const status = source.status();
    return {
      status: 'ready', grant: token.grant,
      tokenExpiresInSeconds: Math.max(0, Math.round((status.expiresInMs ?? 0) / 1000)),
      tokenStore: status.tokenStore, tokenStoreShared: status.tokenStoreShared,
    };
  } catch (err) {
    return named(name, err);
  }
}

export async function readiness(tokens: TokenSources, waitMs: number): Promise<Readiness> {
  const names = tokens.names();
  const results = await Promise.all(names.map((name) => {
    const source = tokens.source(name);
    return source === undefined ? undefined : credentialReadiness(name, source, waitMs);
  }));
  const credentials: Record<string, CredentialReadiness> = {};
  const errors: ProxyError[] = [];
  names.forEach((name, i) => {
    const result = results[i];
    if (result === undefined) return;
    if (!(result instanceof ProxyError)) {
      credentials[name] = result;
      return;
    }
    errors.push(result);
    const status = tokens.source(name)?.status();
    credentials[name] = { status: 'failing', code: result.code, detail: result.detail, tokenStore: status?.tokenStore ?? 'memory', tokenStoreShared: status?.tokenStoreShared ?? false };
  });
  return { ready: errors.length === 0, credentials, errors };
}
