/**
 * What a reload changes, as a pure function of two configurations: which settings differ,
 * which of those take effect while running and which need a restart, which callers were
 * added, removed or changed, and for each SuiteCRM credential whether it was added or removed,
 * changed only its secrets (used from the next token request) or its identity (a new token is
 * obtained first).
 * Names only: a diff never carries a value, so it can be logged as it is.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config, SuiteCrmCredential } from '../config/load.js';
import { SETTINGS, type SettingName } from '../config/settings.js';
import type { CallerSpec } from '../config/callers.js';

/** Settings a running proxy can take over; the rest are reported and left as they are. */
export const LIVE_SETTINGS: ReadonlySet<SettingName> = new Set<SettingName>([
  'SUITECRM_GRANT_TYPE', 'SUITECRM_CLIENT_ID', 'SUITECRM_CLIENT_SECRET', 'SUITECRM_USERNAME', 'SUITECRM_PASSWORD',
  'SUITECRM_REFRESH_TOKEN', 'SUITECRM_CREDENTIALS', 'SUITECRM_TOKEN_REQUEST_FORMAT', 'SUITECRM_TOKEN_PATH',
  'PROXY_CLIENTS', 'PROXY_ALLOW_UNAUTHENTICATED', 'PROXY_READ_ONLY', 'PROXY_ALLOWED_PATH_PREFIXES',
  'PROXY_BODY_LIMIT_BYTES', 'PROXY_RATE_LIMIT_PER_SECOND', 'PROXY_RATE_LIMIT_BURST', 'PROXY_MAX_URL_BYTES',
  'PROXY_HEADERS_TIMEOUT_SECONDS', 'PROXY_REQUEST_TIMEOUT_SECONDS',
  'TOKEN_REFRESH_MARGIN_SECONDS', 'TOKEN_RETRY_MAX_SECONDS', 'CREDENTIALS_RETRY_SECONDS', 'TOKEN_REQUEST_TIMEOUT_SECONDS',
  'SHUTDOWN_TIMEOUT_SECONDS', 'LOG_LEVEL', 'CONFIG_POLL_SECONDS', 'UPSTREAM_TIMEOUT_SECONDS',
]);

/** Shared settings that name another token for every credential (the endpoint): new TokenManagers. */
const SHARED_IDENTITY_SETTINGS: ReadonlySet<SettingName> = new Set<SettingName>(['SUITECRM_TOKEN_PATH']);

/** Shared settings read on every token request: the token in hand stays until the next one. */
const SHARED_REQUEST_SETTINGS: ReadonlySet<SettingName> = new Set<SettingName>(['SUITECRM_TOKEN_REQUEST_FORMAT', 'TOKEN_REQUEST_TIMEOUT_SECONDS']);

/** A credential's fields that name another token (grant, client, user): a new TokenManager for it. */
const IDENTITY_FIELDS = ['grantType', 'clientId', 'username', 'refreshToken'] as const;

/** What a reload does to one credential; a credential it leaves alone is not listed. */
export type CredentialChange = 'added' | 'removed' | 'identity' | 'secret';

export interface ConfigDiff {
  /** Changed settings that take effect now, in schema order. */
  readonly changed: readonly SettingName[];
  /** Changed settings that need a restart; the running values stay. */
  readonly restartRequired: readonly SettingName[];
  readonly callersAdded: readonly string[];
  readonly callersRemoved: readonly string[];
  /** Same name, different key, rules, limits or OAuth credentials. */
  readonly callersChanged: readonly string[];
  /** Per credential name: 'added' or 'identity': a new token must be obtained first; 'secret': used from the next token request. */
  readonly credentials: Readonly<Record<string, CredentialChange>>;
  /** All credentials together: 'identity' when any needs a new token first, else 'secret' when any changed. */
  readonly credential: 'unchanged' | 'secret' | 'identity';
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return diff.changed.length === 0 && diff.restartRequired.length === 0;
}

function callerDiff(before: readonly CallerSpec[] | undefined, after: readonly CallerSpec[] | undefined): Pick<ConfigDiff, 'callersAdded' | 'callersRemoved' | 'callersChanged'> {
  const old = new Map((before ?? []).map((c) => [c.name, c]));
  const next = new Map((after ?? []).map((c) => [c.name, c]));
  return {
    callersAdded: [...next.keys()].filter((name) => !old.has(name)),
    callersRemoved: [...old.keys()].filter((name) => !next.has(name)),
    // Buffers (key digests) compare by content.
    callersChanged: [...next.keys()].filter((name) => old.has(name) && !isDeepStrictEqual(old.get(name), next.get(name))),
  };
}

function credentialDiff(before: readonly SuiteCrmCredential[], after: readonly SuiteCrmCredential[], changed: readonly SettingName[]): Record<string, CredentialChange> {
  const old = new Map(before.map((c) => [c.name, c]));
  const sharedIdentity = changed.some((name) => SHARED_IDENTITY_SETTINGS.has(name));
  const sharedRequest = changed.some((name) => SHARED_REQUEST_SETTINGS.has(name));
  const changes: Record<string, CredentialChange> = {};
  for (const next of after) {
    const was = old.get(next.name);
    old.delete(next.name);
    if (was === undefined) changes[next.name] = 'added';
    else if (sharedIdentity || IDENTITY_FIELDS.some((field) => was[field] !== next[field])) changes[next.name] = 'identity';
    else if (sharedRequest || !isDeepStrictEqual(was, next)) changes[next.name] = 'secret';
  }
  for (const name of old.keys()) changes[name] = 'removed';
  return changes;
}

function overall(changes: Readonly<Record<string, CredentialChange>>): ConfigDiff['credential'] {
  const kinds = Object.values(changes);
  if (kinds.some((kind) => kind === 'added' || kind === 'identity')) return 'identity';
  return kinds.length > 0 ? 'secret' : 'unchanged';
}

/** URLs keep their parts in private fields, which a deep comparison does not see. */
function comparable(value: unknown): unknown {
  return value instanceof URL ? value.href : value;
}

/**
 * `settings` are the parsed values by setting name (a secret read from `<NAME>_FILE` appears
 * under NAME); files that only the config reads (caller key files, the CA bundle) are compared
 * through the configurations.
 */
export function diffConfig(
  before: { readonly config: Config; readonly settings: ReadonlyMap<SettingName, unknown> },
  after: { readonly config: Config; readonly settings: ReadonlyMap<SettingName, unknown> },
): ConfigDiff {
  const callers = callerDiff(before.config.security.clients, after.config.security.clients);
  const differs = new Set<SettingName>();
  for (const { env } of SETTINGS) {
    if (!isDeepStrictEqual(comparable(before.settings.get(env)), comparable(after.settings.get(env)))) differs.add(env);
  }
  // Same text, different files behind it.
  if (callers.callersChanged.length > 0) differs.add('PROXY_CLIENTS');
  if (before.config.suitecrmCa !== after.config.suitecrmCa) differs.add('SUITECRM_CA_FILE');
  const named = (config: Config) => config.credentials.filter((c) => !c.fromSettings);
  if (!isDeepStrictEqual(named(before.config), named(after.config))) differs.add('SUITECRM_CREDENTIALS');
  const names = SETTINGS.map((s) => s.env).filter((name) => differs.has(name));
  const changed = names.filter((name) => LIVE_SETTINGS.has(name));
  const credentials = credentialDiff(before.config.credentials, after.config.credentials, changed);
  return { changed, restartRequired: names.filter((name) => !LIVE_SETTINGS.has(name)), ...callers, credentials, credential: overall(credentials) };
}

/**
 * The configuration to run with: the new one, except that settings needing a restart keep
 * their running values (a later restart picks the new ones up).
 */
export function effectiveConfig(running: Config, next: Config): Config {
  return Object.freeze({
    ...next,
    suitecrmUrl: running.suitecrmUrl,
    basePath: running.basePath,
    apiBase: running.apiBase,
    suitecrmCa: running.suitecrmCa,
    suitecrmTlsInsecure: running.suitecrmTlsInsecure,
    host: running.host,
    port: running.port,
    replayBodyLimitBytes: running.replayBodyLimitBytes,
    upstreamConnections: running.upstreamConnections,
    workers: running.workers,
    upstreamConnectTimeoutMs: running.upstreamConnectTimeoutMs,
    tokenStore: running.tokenStore,
    redisUrl: running.redisUrl,
    tokenStoreKey: running.tokenStoreKey,
    tokenStorePrefix: running.tokenStorePrefix,
    redisCommandTimeoutMs: running.redisCommandTimeoutMs,
    localTokens: running.localTokens,
    security: Object.freeze({
      ...next.security,
      forwardTokenEndpoint: running.security.forwardTokenEndpoint,
      maxHeaderBytes: running.security.maxHeaderBytes,
    }),
  });
}
