/**
 * loadConfig: the Config the proxy runs with, from the typed values (values.ts) and the rules
 * that span several settings (a grant's own settings, TLS, Redis, callers and workers).
 */
import { X509Certificate } from 'node:crypto';
import { SettingError } from './callers-schema.js';
import { decodeStoreKey } from './store-key.js';
import { securityConfig, type SecurityConfig } from './security-settings.js';
import { checkCallerCredentials, credentialSettings } from './credential-settings.js';
import type { SettingName, TokenStoreKind } from './settings.js';
import type { SuiteCrmCredential } from './suitecrm-credentials.js';
import { ConfigError, parseSettings, readText, required, type Env, type FileReader, type Parsed } from './values.js';

// Callers import these from here, where the Config they describe is built.
export { ConfigError, parseSettings, type Env, type FileReader };
export type { SuiteCrmCredential };

export interface Config {
  readonly suitecrmUrl: URL;
  /** Path part of SUITECRM_URL without a trailing slash ('' or e.g. '/legacy'). */
  readonly basePath: string;
  /** SUITECRM_API_BASE (relative to SUITECRM_URL, no trailing slash); undefined: detected (src/upstream/api-base.ts). */
  readonly apiBase: string | undefined;
  /** SUITECRM_TOKEN_PATH; undefined: the API base's /access_token. */
  readonly tokenPath: string | undefined;
  /** The SuiteCRM identities tokens are requested for, `default` first when configured (issue #13). */
  readonly credentials: readonly SuiteCrmCredential[];
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
  /** Local tokens for OAuth-speaking tools (src/local-oauth/). */
  readonly localTokens: {
    readonly accessTtlMs: number;
    readonly refreshTtlMs: number;
    readonly maxSessions: number;
    readonly maxSessionsPerClient: number;
    readonly maxLoginFailuresPerMinute: number;
    readonly maxLoginFailuresPerAddressPerMinute: number;
  };
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

/** SUITECRM_URL has no default: without it there is nothing to proxy. */
function suitecrmUrl(p: Map<SettingName, Parsed>): URL {
  const url = p.get('SUITECRM_URL');
  if (!(url instanceof URL)) {
    throw new ConfigError('SUITECRM_URL', 'is required: the address of your SuiteCRM site, e.g. https://crm.example.com (SuiteCRM 7 or 8)');
  }
  return url;
}

/** SUITECRM_API_BASE names the API's base, not one of its routes. */
function apiBaseSetting(p: Map<SettingName, Parsed>): string | undefined {
  const value = p.get('SUITECRM_API_BASE') as string | undefined;
  if (value === undefined) return undefined;
  const base = value.replace(/\/+$/, '');
  if (base === '' || /\/(V8|access_token)(\/|$)/.test(base)) {
    throw new ConfigError('SUITECRM_API_BASE', `expected the path SuiteCRM's API routes hang off, such as /Api or /legacy/Api (without /V8 or /access_token), got ${value}`);
  }
  return base;
}

/** Verifying SuiteCRM with a private CA and not verifying it at all exclude each other. */
function tlsSettings(p: Map<SettingName, Parsed>): { caFile: string | undefined; tlsInsecure: boolean } {
  const caFile = p.get('SUITECRM_CA_FILE') as string | undefined;
  const tlsInsecure = p.get('SUITECRM_TLS_INSECURE') as boolean;
  if (caFile !== undefined && tlsInsecure) {
    throw new ConfigError('SUITECRM_TLS_INSECURE', 'contradicts SUITECRM_CA_FILE: set SUITECRM_CA_FILE to verify SuiteCRM with a private CA, or SUITECRM_TLS_INSECURE=true to skip verification, not both');
  }
  return { caFile, tlsInsecure };
}

/** Inbound callers and rules (src/security/); their errors become ConfigErrors like every other setting's. */
function securitySettings(p: Map<SettingName, Parsed>, readFile: FileReader): SecurityConfig {
  try {
    return securityConfig((name) => p.get(name as SettingName), p.get('PROXY_HOST') as string, readFile);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(err.setting, err.message);
    throw err;
  }
}

/** Every setting checked in this order, so the error names the first bad one; the CA file is read last. */
export function loadConfig(env: Env, readFile: FileReader = readText): Config {
  const p = parseSettings(env, readFile);
  const url = suitecrmUrl(p);
  const credentials = credentialSettings(p, readFile, (name) => Boolean(env[name] || env[`${name}_FILE`]));
  const { caFile, tlsInsecure } = tlsSettings(p);
  const seconds = (name: SettingName): number => Math.round((p.get(name) as number) * 1000);
  const { redisUrl, tokenStoreKey } = redisSettings(p);
  const security = securitySettings(p, readFile);
  checkCallerCredentials(credentials, security);
  return Object.freeze({
    suitecrmUrl: url,
    basePath: url.pathname === '/' ? '' : url.pathname,
    apiBase: apiBaseSetting(p),
    tokenPath: p.get('SUITECRM_TOKEN_PATH') as string | undefined,
    credentials: Object.freeze(credentials.map((credential) => Object.freeze(credential))),
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

/** The Config as one credential's token requests see it: the shared settings plus that credential's identity and secrets. */
export type CredentialConfig = Config & SuiteCrmCredential;

export function credentialConfig(config: Config, credential: SuiteCrmCredential): CredentialConfig {
  return Object.freeze({ ...config, ...credential });
}
