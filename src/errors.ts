/**
 * Every error the proxy itself answers with: a stable code, an HTTP status and a title.
 * Responses are JSON:API error documents so SuiteCRM clients parse them like SuiteCRM's own,
 * and carry `x-suitecrm-proxy-error: <code>` so callers can tell them from SuiteCRM's.
 * Details name what failed and what to check; they never contain a secret or an upstream body.
 */

export const ERROR_CODES = {
  TOKEN_UNAVAILABLE: { status: 503, title: 'No SuiteCRM access token is available' },
  CREDENTIALS_REJECTED: { status: 503, title: 'SuiteCRM rejected the configured credentials' },
  UPSTREAM_UNREACHABLE: { status: 502, title: 'SuiteCRM could not be reached' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'SuiteCRM did not answer in time' },
  BAD_REQUEST: { status: 400, title: 'The request is malformed' },
  UNAUTHENTICATED: { status: 401, title: 'A valid proxy key is required' },
  FORBIDDEN: { status: 403, title: 'This request is not allowed for this caller' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  URI_TOO_LONG: { status: 414, title: 'The request target is too long' },
  RATE_LIMITED: { status: 429, title: 'Too many requests from this caller' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  NOT_FOUND: { status: 404, title: 'No such proxy endpoint' },
  SHUTTING_DOWN: { status: 503, title: 'The proxy is shutting down' },
  METRICS_UNAVAILABLE: { status: 503, title: 'The metrics of the process group could not be collected' },
  INTERNAL_ERROR: { status: 500, title: 'The proxy failed unexpectedly' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const PROXY_ERROR_HEADER = 'x-suitecrm-proxy-error';
export const JSON_API_CONTENT_TYPE = 'application/vnd.api+json';

export class ProxyError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(`${code}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.status = ERROR_CODES[code].status;
    this.title = ERROR_CODES[code].title;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  readonly retryAfterSeconds: number | undefined;

  /** The one JSON:API error object; an error document holds one or more of them. */
  toJsonApiError(): { status: string; code: ErrorCode; title: string; detail: string } {
    return { status: String(this.status), code: this.code, title: this.title, detail: this.detail };
  }

  toJsonApi(): string {
    return JSON.stringify({ errors: [this.toJsonApiError()] });
  }

  /** Headers that go with the error response. */
  headers(): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': JSON_API_CONTENT_TYPE,
      'cache-control': 'no-store',
      [PROXY_ERROR_HEADER]: this.code,
    };
    if (this.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(this.retryAfterSeconds)));
    }
    return headers;
  }
}

/** Minimal reply surface, so this module does not depend on Fastify. */
interface ReplyLike {
  code(status: number): ReplyLike;
  headers(values: Record<string, string>): ReplyLike;
  send(payload: Buffer): unknown;
}

/** Sends the error document as bytes, so the content type stays exactly `application/vnd.api+json`. */
export function sendProxyError(reply: ReplyLike, err: ProxyError): unknown {
  return reply.code(err.status).headers(err.headers()).send(Buffer.from(err.toJsonApi()));
}

export function isProxyError(err: unknown): err is ProxyError {
  return err instanceof ProxyError;
}

/** Our own error inside a failure (e.g. a body stream we failed on purpose), looking through `cause` chains. */
export function ownErrorIn(err: unknown): ProxyError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (isProxyError(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Network error codes (undici and Node) that mean the upstream cannot be reached or dropped us. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_INFO',
]);
/** OpenSSL verification failures (Node's `err.code`): SuiteCRM answered, but its certificate is not trusted. */
const TLS_VERIFY_CODES = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_REJECTED', 'INVALID_CA', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What to do about a certificate SuiteCRM presented that failed verification. */
export function tlsVerifyHint(code: string): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'the certificate does not name the host in SUITECRM_URL; use the host name it was issued for';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return 'the certificate is expired or not yet valid; renew it on the SuiteCRM server';
  return 'if SuiteCRM uses a private or self-signed CA, set SUITECRM_CA_FILE to a PEM file with that CA certificate (SUITECRM_TLS_INSECURE=true skips verification, for tests only)';
}

export function isTlsVerifyCode(code: string | undefined): boolean {
  return code !== undefined && TLS_VERIFY_CODES.has(code);
}
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** The error code of a network error, looking through `cause` chains (fetch wraps them). */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || TIMEOUT_CODES.has(code) || TLS_VERIFY_CODES.has(code))) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The short code of a request to SuiteCRM that got no answer: the network error's own code, else
 * 'timeout' for an aborted or timed-out request, else 'network_error'.
 */
export function unreachableCode(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  return networkErrorCode(err) ?? (name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network_error');
}

export function isTimeoutCode(code: string | undefined): boolean {
  return code !== undefined && TIMEOUT_CODES.has(code);
}

/**
 * Maps a failure while talking to SuiteCRM's API to our error. Our own error inside it (no token,
 * a body we cut off) wins: it arrives as the cause of undici's or reply-from's error.
 */
export function upstreamError(err: unknown): ProxyError {
  const own = ownErrorIn(err);
  if (own !== undefined) return own;
  const code = networkErrorCode(err);
  if (isTimeoutCode(code)) {
    return new ProxyError('UPSTREAM_TIMEOUT', `SuiteCRM did not answer in time (${code}); check UPSTREAM_TIMEOUT_SECONDS and the SuiteCRM server load`, { cause: err });
  }
  if (isTlsVerifyCode(code)) {
    return new ProxyError('UPSTREAM_UNREACHABLE', `SuiteCRM's TLS certificate could not be verified (${code}); ${tlsVerifyHint(code as string)}`, { cause: err });
  }
  return new ProxyError('UPSTREAM_UNREACHABLE', `the connection to SuiteCRM failed (${code ?? 'network error'}); check SUITECRM_URL and that SuiteCRM is up`, { cause: err, retryAfterSeconds: 1 });
}

/** A wait in ms as the whole seconds a Retry-After states: rounded up, at least 1. */
export function waitSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
