/**
 * What a reload changes, as a pure function of two configurations: which settings differ,
 * which of those take effect while running and which need a restart, which callers were
 * added, removed or changed, and whether the SuiteCRM credential changed only its secrets
 * (used from the next token request) or its identity (a new token is obtained first).
 * Names only: a diff never carries a value, so it can be logged as it is.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/load.js';
import { SETTINGS, type SettingName } from '../config/settings.js';
import type { CallerSpec } from '../config/callers.js';

/** Settings a running proxy can take over; the rest are reported and left as they are. */
export const LIVE_SETTINGS: ReadonlySet<SettingName> = new Set<SettingName>([
  'SUITECRM_GRANT_TYPE', 'SUITECRM_CLIENT_ID', 'SUITECRM_CLIENT_SECRET', 'SUITECRM_USERNAME', 'SUITECRM_PASSWORD',
  'SUITECRM_REFRESH_TOKEN', 'SUITECRM_TOKEN_REQUEST_FORMAT', 'SUITECRM_TOKEN_PATH',
  'PROXY_CLIENTS', 'PROXY_ALLOW_UNAUTHENTICATED', 'PROXY_READ_ONLY', 'PROXY_ALLOWED_PATH_PREFIXES',
  'PROXY_BODY_LIMIT_BYTES', 'PROXY_RATE_LIMIT_PER_SECOND', 'PROXY_RATE_LIMIT_BURST', 'PROXY_MAX_URL_BYTES',
  'PROXY_HEADERS_TIMEOUT_SECONDS', 'PROXY_REQUEST_TIMEOUT_SECONDS',
  'TOKEN_REFRESH_MARGIN_SECONDS', 'TOKEN_RETRY_MAX_SECONDS', 'CREDENTIALS_RETRY_SECONDS', 'TOKEN_REQUEST_TIMEOUT_SECONDS',
  'SHUTDOWN_TIMEOUT_SECONDS', 'LOG_LEVEL', 'CONFIG_POLL_SECONDS', 'UPSTREAM_TIMEOUT_SECONDS',
]);

/** Credential settings that name another token (client, user, grant, endpoint): a new TokenManager. */
const IDENTITY_SETTINGS: ReadonlySet<SettingName> = new Set<SettingName>([
  'SUITECRM_GRANT_TYPE', 'SUITECRM_CLIENT_ID', 'SUITECRM_USERNAME', 'SUITECRM_REFRESH_TOKEN', 'SUITECRM_TOKEN_PATH',
]);

/** Credential settings read on every token request: the token in hand stays until the next one. */
const SECRET_SETTINGS: ReadonlySet<SettingName> = new Set<SettingName>([
  'SUITECRM_CLIENT_SECRET', 'SUITECRM_PASSWORD', 'SUITECRM_TOKEN_REQUEST_FORMAT', 'TOKEN_REQUEST_TIMEOUT_SECONDS',
]);

export interface ConfigDiff {
  /** Changed settings that take effect now, in schema order. */
  readonly changed: readonly SettingName[];
  /** Changed settings that need a restart; the running values stay. */
  readonly restartRequired: readonly SettingName[];
  readonly callersAdded: readonly string[];
  readonly callersRemoved: readonly string[];
  /** Same name, different key, rules, limits or OAuth credentials. */
  readonly callersChanged: readonly string[];
  /** 'identity': a new token must be obtained first; 'secret': used from the next token request. */
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
  const names = SETTINGS.map((s) => s.env).filter((name) => differs.has(name));
  const changed = names.filter((name) => LIVE_SETTINGS.has(name));
  const credential = changed.some((name) => IDENTITY_SETTINGS.has(name))
    ? 'identity'
    : changed.some((name) => SECRET_SETTINGS.has(name)) ? 'secret' : 'unchanged';
  return { changed, restartRequired: names.filter((name) => !LIVE_SETTINGS.has(name)), ...callers, credential };
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
