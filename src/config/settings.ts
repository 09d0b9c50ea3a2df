/**
 * The one schema of every setting: its environment name, type, default and documentation.
 * `load.ts` validates against it, `--help` and the README tables are generated from it.
 */

export type SettingType = 'string' | 'url' | 'path' | 'enum' | 'int' | 'seconds' | 'bool' | 'list';

export interface SettingSpec {
  /** Environment variable name (also the key accepted in a config file). */
  readonly env: string;
  readonly type: SettingType;
  readonly doc: string;
  /** Default as the user would write it; undefined means "no default". */
  readonly default?: string;
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Secrets are never printed; they may be read from `<ENV>_FILE`. */
  readonly secret?: boolean;
  /** Grouping for documentation. */
  readonly group: 'SuiteCRM' | 'Proxy' | 'Security' | 'Tokens' | 'Timeouts' | 'Logging';
}

export const GRANT_TYPES = ['client_credentials', 'password', 'refresh_token'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export const TOKEN_STORES = ['memory', 'redis'] as const;
export type TokenStoreKind = (typeof TOKEN_STORES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const SETTINGS = [
  { env: 'CONFIG_FILE', type: 'string', group: 'Proxy',
    doc: 'JSON or YAML file holding settings under these names (same as --config). Environment variables override it.' },
  { env: 'SUITECRM_URL', type: 'url', group: 'SuiteCRM',
    doc: 'The address of your SuiteCRM site, as its users open it (https://crm.example.com), SuiteCRM 7 or 8; SuiteCRM 8\'s https://crm.example.com/legacy works too. Without /Api: the proxy finds where the V8 API lives under it (SUITECRM_API_BASE).' },
  { env: 'SUITECRM_API_BASE', type: 'path', group: 'SuiteCRM',
    doc: 'Where SuiteCRM\'s API routes hang off, appended to SUITECRM_URL: /Api (SuiteCRM 7), /legacy/Api (SuiteCRM 8 at its site address), /Api/index.php or /legacy/Api/index.php (no URL rewriting). Unset: detected at start-up by an empty POST to each candidate\'s /access_token (it changes nothing and spends no secret), logged as "event":"suitecrm_api_base" and shown in /_proxy/readyz. Set it only to skip the detection. Needs a restart to change.' },
  { env: 'SUITECRM_TOKEN_PATH', type: 'path', group: 'SuiteCRM',
    doc: 'Path of the OAuth2 token endpoint, appended to SUITECRM_URL. Unset: the API base\'s /access_token (detected, or SUITECRM_API_BASE).' },
  { env: 'SUITECRM_GRANT_TYPE', type: 'enum', group: 'SuiteCRM', default: 'client_credentials', choices: GRANT_TYPES,
    doc: 'OAuth2 grant used to obtain tokens.' },
  { env: 'SUITECRM_CLIENT_ID', type: 'string', group: 'SuiteCRM',
    doc: 'OAuth2 client id (Admin > OAuth2 Clients and Tokens). Required unless SUITECRM_CREDENTIALS gives every caller its credential.' },
  { env: 'SUITECRM_CLIENT_SECRET', type: 'string', group: 'SuiteCRM', secret: true,
    doc: 'OAuth2 client secret (plain text, as entered in SuiteCRM).' },
  { env: 'SUITECRM_USERNAME', type: 'string', group: 'SuiteCRM',
    doc: 'SuiteCRM user name; required for the password grant.' },
  { env: 'SUITECRM_PASSWORD', type: 'string', group: 'SuiteCRM', secret: true,
    doc: 'SuiteCRM password; required for the password grant.' },
  { env: 'SUITECRM_REFRESH_TOKEN', type: 'string', group: 'SuiteCRM', secret: true,
    doc: 'Initial refresh token; required for the refresh_token grant. The proxy keeps the newest one in memory.' },
  { env: 'SUITECRM_CREDENTIALS', type: 'string', group: 'SuiteCRM', secret: true,
    doc: 'More SuiteCRM identities as JSON, an object keyed by credential name: {"<name>": {grantType, clientId, clientSecret | clientSecretFile, username, password | passwordFile, refreshToken | refreshTokenFile}}. A PROXY_CLIENTS caller picks one with "suitecrm": "<name>"; callers without it (and the anonymous caller) use the credential named default, which the SUITECRM_* settings above form when given. One token per credential, shared by its callers. See docs/credentials.md.' },
  { env: 'SUITECRM_TOKEN_REQUEST_FORMAT', type: 'enum', group: 'SuiteCRM', default: 'form', choices: ['form', 'json'],
    doc: 'Body encoding of token requests. form works on every SuiteCRM 7.10.10+ and 8.x.' },
  { env: 'SUITECRM_CA_FILE', type: 'string', group: 'SuiteCRM',
    doc: 'PEM file with the CA certificate(s) of a private CA that signed SuiteCRM\'s TLS certificate; trusted in addition to the public CAs.' },
  { env: 'SUITECRM_TLS_INSECURE', type: 'bool', group: 'SuiteCRM', default: 'false',
    doc: 'true turns off verification of SuiteCRM\'s TLS certificate (for tests only; the proxy logs a warning at start-up).' },
  { env: 'PROXY_HOST', type: 'string', group: 'Proxy', default: '127.0.0.1',
    doc: 'Address the proxy listens on.' },
  { env: 'PROXY_PORT', type: 'int', group: 'Proxy', default: '8080', min: 0, max: 65535,
    doc: 'Port the proxy listens on (0 picks a free port).' },
  { env: 'REPLAY_BODY_LIMIT_BYTES', type: 'int', group: 'Proxy', default: '1048576', min: 0, max: 104857600,
    doc: 'Request bodies up to this size are kept so a request rejected with 401 can be replayed; larger ones stream through.' },
  { env: 'UPSTREAM_CONNECTIONS', type: 'int', group: 'Proxy', default: '128', min: 1, max: 10000,
    doc: 'Maximum keep-alive connections to SuiteCRM.' },
  { env: 'PROXY_WORKERS', type: 'int', group: 'Proxy', default: '1', min: 1, max: 64,
    doc: 'Event loops (node:cluster workers) sharing the listening port. They share one SuiteCRM token (the primary process obtains it and hands it to the workers) and the local sessions of OAuth-speaking tools (kept by the primary).' },
  { env: 'PROXY_CLIENTS', type: 'string', group: 'Security', secret: true,
    doc: 'Inbound callers as JSON: an array of {name, key | keyFile | keySha256, methods, paths, allow, rateLimit {perSecond, burst}, bodyLimitBytes, clientId + clientSecret | clientSecretFile | clientSecretSha256, username + password | passwordFile | passwordSha256, grants, suitecrm}, or an object keyed by name. clientId/clientSecret (and username/password) let an OAuth-speaking tool log in at the local token endpoint, next to or instead of a key; grants lists the grants it may use beyond the default (password with a username, else client_credentials); suitecrm names the SUITECRM_CREDENTIALS credential its requests are sent with (default: default). Unset: no keys, every request is the caller "anonymous" (loopback only, unless PROXY_ALLOW_UNAUTHENTICATED=true).' },
  { env: 'PROXY_ALLOW_UNAUTHENTICATED', type: 'bool', group: 'Security', default: 'false',
    doc: 'Serve requests without a key as the caller "anonymous". Required to listen on a non-loopback PROXY_HOST without PROXY_CLIENTS.' },
  { env: 'PROXY_READ_ONLY', type: 'bool', group: 'Security', default: 'false',
    doc: 'Forward only GET, HEAD and OPTIONS, for every caller; other methods get 403.' },
  { env: 'PROXY_ALLOWED_PATH_PREFIXES', type: 'list', group: 'Security', default: '/Api/,/legacy/Api/',
    doc: 'Comma-separated path prefixes that may be forwarded, matched against the canonical path (SuiteCRM\'s API in any spelling, /legacy/Api/... included, is /Api/...; docs/security.md); anything else gets 403, so the proxy cannot reach the SuiteCRM web UI.' },
  { env: 'PROXY_FORWARD_TOKEN_ENDPOINT', type: 'bool', group: 'Security', default: 'false',
    doc: 'Forward requests to SuiteCRM\'s token endpoint (/Api/access_token and its variants). Off: the proxy answers them itself with local tokens for its callers; SUITECRM_TOKEN_PATH, if different, gets 403.' },
  { env: 'PROXY_BODY_LIMIT_BYTES', type: 'int', group: 'Security', default: '104857600', min: 0, max: 10737418240,
    doc: 'Largest request body a caller may send (callers may set a lower bodyLimitBytes); larger ones get 413.' },
  { env: 'PROXY_RATE_LIMIT_PER_SECOND', type: 'seconds', group: 'Security', default: '0', min: 0, max: 1000000,
    doc: 'Requests per second for callers without a rateLimit of their own (anonymous included); 0 means no limit.' },
  { env: 'PROXY_RATE_LIMIT_BURST', type: 'int', group: 'Security', default: '0', min: 0, max: 1000000,
    doc: 'Bucket size for PROXY_RATE_LIMIT_PER_SECOND; 0 means the per-second rate rounded up.' },
  { env: 'PROXY_MAX_URL_BYTES', type: 'int', group: 'Security', default: '8192', min: 64, max: 1048576,
    doc: 'Longest request target (path and query) accepted; longer ones get 414.' },
  { env: 'PROXY_MAX_HEADER_BYTES', type: 'int', group: 'Security', default: '16384', min: 1024, max: 1048576,
    doc: 'Largest request line plus headers accepted; larger ones get 431.' },
  { env: 'PROXY_HEADERS_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '15', min: 0.1, max: 3600,
    doc: 'Time a caller has to send the request line and headers (slowloris protection); then 408 and the connection closes.' },
  { env: 'PROXY_REQUEST_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '300', min: 0.1, max: 86400,
    doc: 'Time a caller has to send the whole request, body included; then 408 and the connection closes. At least PROXY_HEADERS_TIMEOUT_SECONDS.' },
  { env: 'LOCAL_TOKEN_TTL_SECONDS', type: 'seconds', group: 'Security', default: '3600', min: 1, max: 2592000,
    doc: 'Lifetime of the local access tokens the proxy\'s own token endpoint (/Api/access_token) gives OAuth-speaking tools; reported as expires_in.' },
  { env: 'LOCAL_REFRESH_TOKEN_TTL_SECONDS', type: 'seconds', group: 'Security', default: '2592000', min: 1, max: 31536000,
    doc: 'Lifetime of local refresh tokens (password and refresh_token grants); 30 days like SuiteCRM\'s P1M. A refresh rotates both tokens.' },
  { env: 'LOCAL_LOGIN_FAILURES_PER_MINUTE', type: 'int', group: 'Security', default: '20', min: 0, max: 1000000,
    doc: 'Failed logins at the local token endpoint allowed per client address and client id per minute; past it that client id gets 429 from that address until the minute ends, other client ids do not. 0 turns this off.' },
  { env: 'LOCAL_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE', type: 'int', group: 'Security', default: '100', min: 0, max: 1000000,
    doc: 'Failed logins allowed per client address per minute, whatever the client id (stops guessing of client ids); past it every token request from that address gets 429 until the minute ends. 0 turns this off.' },
  { env: 'LOCAL_TOKEN_MAX_SESSIONS', type: 'int', group: 'Security', default: '10000', min: 1, max: 10000000,
    doc: 'Most local sessions kept in all, for the whole fleet with TOKEN_STORE=redis (for the process group under PROXY_WORKERS); past it the least recently used session of the caller holding the most is forgotten (its tool gets a 401 and logs in again).' },
  { env: 'LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT', type: 'int', group: 'Security', default: '1000', min: 1, max: 10000000,
    doc: 'Most local sessions one caller may hold (for the whole fleet with TOKEN_STORE=redis); past it that caller\'s own least recently used session is forgotten, never another caller\'s.' },
  { env: 'TOKEN_REFRESH_MARGIN_SECONDS', type: 'seconds', group: 'Tokens', default: '60', min: 0, max: 86400,
    doc: 'Refresh a token this long before it expires (capped at a quarter of the token lifetime).' },
  { env: 'TOKEN_RETRY_MAX_SECONDS', type: 'seconds', group: 'Tokens', default: '30', min: 0.01, max: 3600,
    doc: 'Longest pause between retries after transient token endpoint failures (exponential backoff with jitter).' },
  { env: 'CREDENTIALS_RETRY_SECONDS', type: 'seconds', group: 'Tokens', default: '60', min: 0.01, max: 86400,
    doc: 'Pause before trying again after SuiteCRM rejected the credentials (doubles up to 10x while they stay rejected).' },
  { env: 'TOKEN_STORE', type: 'enum', group: 'Tokens', default: 'memory', choices: TOKEN_STORES,
    doc: 'Where the SuiteCRM token and the local sessions are kept: memory (this process; the primary under PROXY_WORKERS) or redis (shared by every replica using the same REDIS_URL, TOKEN_STORE_KEY and credential).' },
  { env: 'REDIS_URL', type: 'string', group: 'Tokens', secret: true,
    doc: 'Redis for TOKEN_STORE=redis: redis://[:password@]host[:port][/db] or rediss:// for TLS. Secret because it may hold a password.' },
  { env: 'TOKEN_STORE_KEY', type: 'string', group: 'Tokens', secret: true,
    doc: 'Key of what is kept in Redis: encrypts the SuiteCRM tokens (AES-256-GCM) and keys the digests of local tokens (HMAC); required for TOKEN_STORE=redis, the same on every replica: 32 random bytes as 64 hex characters (openssl rand -hex 32) or base64 (openssl rand -base64 32).' },
  { env: 'TOKEN_STORE_PREFIX', type: 'string', group: 'Tokens', default: 'suitecrm-auth-proxy',
    doc: 'Prefix of the Redis keys (the token store, the local sessions, the shared rate limits and login throttles).' },
  { env: 'REDIS_COMMAND_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '1', min: 0.05, max: 60,
    doc: 'Timeout of one Redis command; a slower or unreachable Redis makes the replica renew its token, keep its local sessions and count its limits alone until Redis answers again.' },
  { env: 'TOKEN_REQUEST_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '10', min: 0.01, max: 600,
    doc: 'Timeout of one token request.' },
  { env: 'UPSTREAM_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '60', min: 0.01, max: 3600,
    doc: 'Time SuiteCRM may take to start answering a proxied request, and the longest pause inside a response body. undici checks timeouts over a second about every half second, so one ends within about 0.5 s of it.' },
  { env: 'UPSTREAM_CONNECT_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '10', min: 0.01, max: 600,
    doc: 'Timeout for opening a connection to SuiteCRM.' },
  { env: 'SHUTDOWN_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '25', min: 0, max: 3600,
    doc: 'On SIGTERM or SIGINT, how long in-flight requests may take to finish before the proxy exits anyway.' },
  { env: 'CONFIG_POLL_SECONDS', type: 'seconds', group: 'Proxy', default: '5', min: 0.1, max: 10,
    doc: 'How often the config file and every <NAME>_FILE are checked for changes (file events are used too, where they work); a change reloads them as SIGHUP does.' },
  { env: 'LOG_LEVEL', type: 'enum', group: 'Logging', default: 'info', choices: LOG_LEVELS,
    doc: 'pino log level.' },
] as const satisfies readonly SettingSpec[];

export type SettingName = (typeof SETTINGS)[number]['env'];

/** Env names of secrets, for redaction and for `<NAME>_FILE` support. */
export const SECRET_SETTINGS: readonly string[] = SETTINGS.filter((s: SettingSpec) => s.secret).map((s) => s.env);
