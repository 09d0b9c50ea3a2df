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
  readonly group: 'SuiteCRM' | 'Proxy' | 'Tokens' | 'Timeouts' | 'Logging';
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
    doc: 'Base URL of the SuiteCRM instance, without /Api. SuiteCRM 8: include /legacy (https://crm.example.com/legacy).' },
  { env: 'SUITECRM_TOKEN_PATH', type: 'path', group: 'SuiteCRM', default: '/Api/access_token',
    doc: 'Path of the OAuth2 token endpoint, appended to SUITECRM_URL.' },
  { env: 'SUITECRM_GRANT_TYPE', type: 'enum', group: 'SuiteCRM', default: 'client_credentials', choices: GRANT_TYPES,
    doc: 'OAuth2 grant used to obtain tokens.' },
  { env: 'SUITECRM_CLIENT_ID', type: 'string', group: 'SuiteCRM',
    doc: 'OAuth2 client id (Admin > OAuth2 Clients and Tokens).' },
  { env: 'SUITECRM_CLIENT_SECRET', type: 'string', group: 'SuiteCRM', secret: true,
    doc: 'OAuth2 client secret (plain text, as entered in SuiteCRM).' },
  { env: 'SUITECRM_USERNAME', type: 'string', group: 'SuiteCRM',
    doc: 'SuiteCRM user name; required for the password grant.' },
  { env: 'SUITECRM_PASSWORD', type: 'string', group: 'SuiteCRM', secret: true,
    doc: 'SuiteCRM password; required for the password grant.' },
  { env: 'SUITECRM_REFRESH_TOKEN', type: 'string', group: 'SuiteCRM', secret: true,
    doc: 'Initial refresh token; required for the refresh_token grant. The proxy keeps the newest one in memory.' },
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
    doc: 'Event loops (node:cluster workers) sharing the listening port. They share one SuiteCRM token: the primary process obtains it and hands it to the workers.' },
  { env: 'TOKEN_REFRESH_MARGIN_SECONDS', type: 'seconds', group: 'Tokens', default: '60', min: 0, max: 86400,
    doc: 'Refresh a token this long before it expires (capped at a quarter of the token lifetime).' },
  { env: 'TOKEN_RETRY_MAX_SECONDS', type: 'seconds', group: 'Tokens', default: '30', min: 0.01, max: 3600,
    doc: 'Longest pause between retries after transient token endpoint failures (exponential backoff with jitter).' },
  { env: 'CREDENTIALS_RETRY_SECONDS', type: 'seconds', group: 'Tokens', default: '60', min: 0.01, max: 86400,
    doc: 'Pause before trying again after SuiteCRM rejected the credentials (doubles up to 10x while they stay rejected).' },
  { env: 'TOKEN_STORE', type: 'enum', group: 'Tokens', default: 'memory', choices: TOKEN_STORES,
    doc: 'Where the token is kept: memory (this process) or redis (shared by every replica using the same REDIS_URL and credential).' },
  { env: 'REDIS_URL', type: 'string', group: 'Tokens', secret: true,
    doc: 'Redis for TOKEN_STORE=redis: redis://[:password@]host[:port][/db] or rediss:// for TLS. Secret because it may hold a password.' },
  { env: 'TOKEN_STORE_KEY', type: 'string', group: 'Tokens', secret: true,
    doc: 'AES-256-GCM key that encrypts tokens in Redis; required for TOKEN_STORE=redis, the same on every replica: 32 random bytes as 64 hex characters (openssl rand -hex 32) or base64 (openssl rand -base64 32).' },
  { env: 'TOKEN_STORE_PREFIX', type: 'string', group: 'Tokens', default: 'suitecrm-auth-proxy',
    doc: 'Prefix of the Redis keys of the token store.' },
  { env: 'REDIS_COMMAND_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '1', min: 0.05, max: 60,
    doc: 'Timeout of one Redis command; a slower or unreachable Redis makes the replica renew its token alone until Redis answers again.' },
  { env: 'TOKEN_REQUEST_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '10', min: 0.01, max: 600,
    doc: 'Timeout of one token request.' },
  { env: 'UPSTREAM_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '60', min: 0.01, max: 3600,
    doc: 'Time SuiteCRM may take to start answering a proxied request, and the longest pause inside a response body.' },
  { env: 'UPSTREAM_CONNECT_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '10', min: 0.01, max: 600,
    doc: 'Timeout for opening a connection to SuiteCRM.' },
  { env: 'SHUTDOWN_TIMEOUT_SECONDS', type: 'seconds', group: 'Timeouts', default: '25', min: 0, max: 3600,
    doc: 'On SIGTERM or SIGINT, how long in-flight requests may take to finish before the proxy exits anyway.' },
  { env: 'LOG_LEVEL', type: 'enum', group: 'Logging', default: 'info', choices: LOG_LEVELS,
    doc: 'pino log level.' },
] as const satisfies readonly SettingSpec[];

export type SettingName = (typeof SETTINGS)[number]['env'];

/** Env names of secrets, for redaction and for `<NAME>_FILE` support. */
export const SECRET_SETTINGS: readonly string[] = SETTINGS.filter((s: SettingSpec) => s.secret).map((s) => s.env);
