import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { secretFileText } from './secret-text.js';
import { decodeStoreKey } from './store-key.js';
import { SettingError } from './callers-schema.js';
import { securityConfig, type SecurityConfig } from './security-settings.js';
import { SETTINGS, type GrantType, type SettingName, type SettingSpec, type TokenStoreKind } from './settings.js';

export interface Config {
  readonly suitecrmUrl: URL;
  /** Path part of SUITECRM_URL without a trailing slash ('' or e.g. '/legacy'), prefixed to every request. */
  readonly basePath: string;
  readonly tokenPath: string;
  readonly grantType: GrantType;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly refreshToken: string | undefined;
  readonly tokenRequestFormat: 'form' | 'json';
  /** PEM text of SUITECRM_CA_FILE, read at start-up. */
  readonly suitecrmCa: string | undefined;
  readonly suitecrmTlsInsecure: boolean;
  readonly host: string;
  readonly port: number;
  readonly replayBodyLimitBytes: number;
  readonly upstreamConnections: number;
  readonly workers: number;
  readonly refreshMarginMs: number;
  readonly tokenRetryMaxMs: number;
  readonly credentialsRetryMs: number;
  readonly tokenRequestTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly upstreamConnectTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** CONFIG_POLL_SECONDS: how often watched files are checked (src/reload/). */
  readonly configPollMs: number;
  readonly logLevel: string;
  readonly tokenStore: TokenStoreKind;
  /** Set when tokenStore is redis. */
  readonly redisUrl: string | undefined;
  /** 32-byte AES-256-GCM key; set when tokenStore is redis. */
  readonly tokenStoreKey: Buffer | undefined;
  readonly tokenStorePrefix: string;
  readonly redisCommandTimeoutMs: number;
  /** Inbound callers, rules and limits (src/security/). */
  readonly security: SecurityConfig;
  /** Local tokens for OAuth-speaking legacy tools (src/local-oauth/). */
  readonly localTokens: {
    readonly accessTtlMs: number;
    readonly refreshTtlMs: number;
    readonly maxSessions: number;
    readonly maxSessionsPerClient: number;
    readonly maxLoginFailuresPerMinute: number;
    readonly maxLoginFailuresPerAddressPerMinute: number;
  };
}

/** A bad setting: the message names it and says what is expected, never echoing a secret. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;
export type FileReader = (path: string) => string;

const readText: FileReader = (path) => readFileSync(path, 'utf8');

/** Raw string values by env name, after resolving `<NAME>_FILE` indirections. */
function rawValues(env: Env, readFile: FileReader): Map<string, string> {
  const values = new Map<string, string>();
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const direct = env[spec.env];
    const filePath = env[`${spec.env}_FILE`];
    if (direct !== undefined && direct !== '' && filePath) {
      throw new ConfigError(spec.env, `set either ${spec.env} or ${spec.env}_FILE, not both`);
    }
    if (filePath) {
      let text: string;
      try {
        text = readFile(filePath);
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
        throw new ConfigError(`${spec.env}_FILE`, `cannot read file ${filePath} (${reason})`);
      }
      values.set(spec.env, secretFileText(text));
    } else if (direct !== undefined && direct !== '') {
      values.set(spec.env, direct);
    } else if (spec.default !== undefined) {
      values.set(spec.env, spec.default);
    }
  }
  return values;
}

function describe(spec: SettingSpec, value: string): string {
  return spec.secret ? 'the given value' : JSON.stringify(value);
}

function parseNumber(spec: SettingSpec, value: string, integer: boolean): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new ConfigError(spec.env, `expected ${integer ? 'a whole number' : 'a number'}, got ${describe(spec, value)}`);
  }
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    throw new ConfigError(spec.env, `must be between ${spec.min} and ${spec.max}, got ${n}`);
  }
  return n;
}

function parseUrl(spec: SettingSpec, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(spec.env, `expected an absolute http(s) URL such as https://crm.example.com, got ${describe(spec, value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(spec.env, `expected an http or https URL, got protocol ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new ConfigError(spec.env, 'must not contain credentials; use SUITECRM_CLIENT_ID and SUITECRM_CLIENT_SECRET');
  }
  if (url.search || url.hash) {
    throw new ConfigError(spec.env, 'must not contain a query string or fragment');
  }
  // Normalise away a trailing slash so that `${base}${path}` never doubles it.
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

type Parsed = string | number | boolean | URL | undefined;

function parseValue(spec: SettingSpec, value: string | undefined): Parsed {
  if (value === undefined) return undefined;
  switch (spec.type) {
    case 'url':
      return parseUrl(spec, value);
    case 'path':
      if (!value.startsWith('/') || /[\s?#]/.test(value)) {
        throw new ConfigError(spec.env, `expected a path starting with / (no spaces, query or fragment), got ${describe(spec, value)}`);
      }
      return value;
    case 'enum':
      if (!spec.choices?.includes(value)) {
        throw new ConfigError(spec.env, `expected one of ${spec.choices?.join(', ')}, got ${describe(spec, value)}`);
      }
      return value;
    case 'int':
      return parseNumber(spec, value, true);
    case 'seconds':
      return parseNumber(spec, value, false);
    case 'bool': {
      const v = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(spec.env, `expected true or false, got ${describe(spec, value)}`);
    }
    default:
      return value;
  }
}

/** Parses and validates every setting; throws ConfigError naming the first bad one. */
export function parseSettings(env: Env, readFile: FileReader = readText): Map<SettingName, Parsed> {
  const raw = rawValues(env, readFile);
  const parsed = new Map<SettingName, Parsed>();
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    parsed.set(spec.env as SettingName, parseValue(spec, raw.get(spec.env)));
  }
  return parsed;
}

function required(parsed: Map<SettingName, Parsed>, name: SettingName, why: string): string {
  const value = parsed.get(name);
  if (typeof value !== 'string' || value === '') throw new ConfigError(name, `is required ${why}`);
  return value;
}

/** Reads the private CA bundle at start-up, so a wrong path fails now rather than on the first request. */
function readCaFile(path: string, readFile: FileReader): string {
  let pem: string;
  try {
    pem = readFile(path);
  } catch (err) {
    throw new ConfigError('SUITECRM_CA_FILE', `cannot read file ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM block');
    new X509Certificate(pem);
  } catch {
    throw new ConfigError('SUITECRM_CA_FILE', `${path} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)`);
  }
  return pem;
}

/** TOKEN_STORE=redis needs a redis(s):// URL and a well-formed key; neither is ever echoed. */
function redisSettings(p: Map<SettingName, Parsed>): { redisUrl: string | undefined; tokenStoreKey: Buffer | undefined } {
  if (p.get('TOKEN_STORE') !== 'redis') return { redisUrl: undefined, tokenStoreKey: undefined };
  const redisUrl = required(p, 'REDIS_URL', 'when TOKEN_STORE=redis, e.g. redis://redis:6379');
  let url: URL | undefined;
  try {
    url = new URL(redisUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw new ConfigError('REDIS_URL', 'expected redis://[:password@]host[:port][/db] or rediss://... (the value is not shown: it may hold a password)');
  }
  const keyText = required(p, 'TOKEN_STORE_KEY', 'when TOKEN_STORE=redis: 32 random bytes as 64 hex characters (openssl rand -hex 32) or base64 (openssl rand -base64 32)');
  const tokenStoreKey = decodeStoreKey(keyText);
  if (tokenStoreKey === undefined) {
    throw new ConfigError('TOKEN_STORE_KEY', `expected 32 random bytes as 64 hex characters (openssl rand -hex 32) or 44 base64 characters (openssl rand -base64 32); got ${keyText.trim().length} characters that are neither`);
  }
  const prefix = p.get('TOKEN_STORE_PREFIX') as string;
  if (/[\s{}]/.test(prefix)) throw new ConfigError('TOKEN_STORE_PREFIX', 'must not contain spaces or braces');
  return { redisUrl, tokenStoreKey };
}

export function loadConfig(env: Env, readFile: FileReader = readText): Config {
  const p = parseSettings(env, readFile);
  const url = p.get('SUITECRM_URL');
  if (!(url instanceof URL)) {
    throw new ConfigError('SUITECRM_URL', 'is required: the base URL of your SuiteCRM, e.g. https://crm.example.com (SuiteCRM 8: https://crm.example.com/legacy)');
  }
  const grantType = p.get('SUITECRM_GRANT_TYPE') as GrantType;
  const clientId = required(p, 'SUITECRM_CLIENT_ID', 'for every grant');
  const clientSecret = required(p, 'SUITECRM_CLIENT_SECRET', 'for every grant (SuiteCRM checks the secret on all grants)');
  if (grantType === 'password') {
    required(p, 'SUITECRM_USERNAME', 'when SUITECRM_GRANT_TYPE=password');
    required(p, 'SUITECRM_PASSWORD', 'when SUITECRM_GRANT_TYPE=password');
  }
  if (grantType === 'refresh_token') {
    required(p, 'SUITECRM_REFRESH_TOKEN', 'when SUITECRM_GRANT_TYPE=refresh_token');
  }
  const caFile = p.get('SUITECRM_CA_FILE') as string | undefined;
  const tlsInsecure = p.get('SUITECRM_TLS_INSECURE') as boolean;
  if (caFile !== undefined && tlsInsecure) {
    throw new ConfigError('SUITECRM_TLS_INSECURE', 'contradicts SUITECRM_CA_FILE: set SUITECRM_CA_FILE to verify SuiteCRM with a private CA, or SUITECRM_TLS_INSECURE=true to skip verification, not both');
  }
  const seconds = (name: SettingName): number => Math.round((p.get(name) as number) * 1000);
  const { redisUrl, tokenStoreKey } = redisSettings(p);
  let security: SecurityConfig;
  try {
    security = securityConfig((name) => p.get(name as SettingName), p.get('PROXY_HOST') as string, readFile);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(err.setting, err.message);
    throw err;
  }
  // Local OAuth tokens live in the memory of the worker that issued them: with several workers a
  // tool's token would be unknown to the others and a logout would not reach them.
  if ((p.get('PROXY_WORKERS') as number) > 1 && security.clients?.some((client) => client.oauth !== undefined)) {
    throw new ConfigError('PROXY_WORKERS', 'must be 1 when PROXY_CLIENTS gives callers clientId/clientSecret: local tokens of the local token endpoint are kept per process; run several replicas instead, or give those callers keys');
  }
  return Object.freeze({
    suitecrmUrl: url,
    basePath: url.pathname === '/' ? '' : url.pathname,
    tokenPath: p.get('SUITECRM_TOKEN_PATH') as string,
    grantType,
    clientId,
    clientSecret,
    username: p.get('SUITECRM_USERNAME') as string | undefined,
    password: p.get('SUITECRM_PASSWORD') as string | undefined,
    refreshToken: p.get('SUITECRM_REFRESH_TOKEN') as string | undefined,
    tokenRequestFormat: p.get('SUITECRM_TOKEN_REQUEST_FORMAT') as 'form' | 'json',
    suitecrmCa: caFile === undefined ? undefined : readCaFile(caFile, readFile),
    suitecrmTlsInsecure: tlsInsecure,
    host: p.get('PROXY_HOST') as string,
    port: p.get('PROXY_PORT') as number,
    replayBodyLimitBytes: p.get('REPLAY_BODY_LIMIT_BYTES') as number,
    upstreamConnections: p.get('UPSTREAM_CONNECTIONS') as number,
    workers: p.get('PROXY_WORKERS') as number,
    refreshMarginMs: seconds('TOKEN_REFRESH_MARGIN_SECONDS'),
    tokenRetryMaxMs: seconds('TOKEN_RETRY_MAX_SECONDS'),
    credentialsRetryMs: seconds('CREDENTIALS_RETRY_SECONDS'),
    tokenRequestTimeoutMs: seconds('TOKEN_REQUEST_TIMEOUT_SECONDS'),
    upstreamTimeoutMs: seconds('UPSTREAM_TIMEOUT_SECONDS'),
    upstreamConnectTimeoutMs: seconds('UPSTREAM_CONNECT_TIMEOUT_SECONDS'),
    shutdownTimeoutMs: seconds('SHUTDOWN_TIMEOUT_SECONDS'),
    configPollMs: seconds('CONFIG_POLL_SECONDS'),
    logLevel: p.get('LOG_LEVEL') as string,
    tokenStore: p.get('TOKEN_STORE') as TokenStoreKind,
    redisUrl,
    tokenStoreKey,
    tokenStorePrefix: p.get('TOKEN_STORE_PREFIX') as string,
    redisCommandTimeoutMs: seconds('REDIS_COMMAND_TIMEOUT_SECONDS'),
    security,
    localTokens: Object.freeze({
      accessTtlMs: seconds('LOCAL_TOKEN_TTL_SECONDS'),
      refreshTtlMs: seconds('LOCAL_REFRESH_TOKEN_TTL_SECONDS'),
      maxSessions: p.get('LOCAL_TOKEN_MAX_SESSIONS') as number,
      maxSessionsPerClient: p.get('LOCAL_TOKEN_MAX_SESSIONS_PER_CLIENT') as number,
      maxLoginFailuresPerMinute: p.get('LOCAL_LOGIN_FAILURES_PER_MINUTE') as number,
      maxLoginFailuresPerAddressPerMinute: p.get('LOCAL_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE') as number,
    }),
  });
}
