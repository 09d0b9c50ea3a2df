/**
 * The security part of the configuration: callers, rules, limits and the safe-by-default
 * listening check. load.ts calls securityConfig() with the parsed settings.
 */
import { BlockList, isIP } from 'node:net';
import { parseClients, type CallerSpec } from './callers.js';
import { SettingError } from './callers-schema.js';

export interface SecurityConfig {
  /** Undefined when PROXY_CLIENTS is unset: every request is the caller "anonymous". */
  readonly clients: readonly CallerSpec[] | undefined;
  readonly allowUnauthenticated: boolean;
  readonly readOnly: boolean;
  readonly allowedPathPrefixes: readonly string[];
  readonly forwardTokenEndpoint: boolean;
  readonly bodyLimitBytes: number;
  /** Default rate limit for callers without their own; undefined means none. */
  readonly defaultRateLimit: { readonly perSecond: number; readonly burst: number } | undefined;
  readonly maxUrlBytes: number;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

type Value = string | number | boolean | URL | undefined;


const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (IPv4-mapped forms included) and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

function prefixList(value: string): string[] {
  const prefixes = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (prefixes.length === 0) throw new SettingError('PROXY_ALLOWED_PATH_PREFIXES', 'needs at least one prefix such as /Api/');
  for (const p of prefixes) {
    if (!p.startsWith('/') || /[\s?#%\\]/.test(p) || p.includes('/../') || p.includes('//')) {
      throw new SettingError('PROXY_ALLOWED_PATH_PREFIXES', `${JSON.stringify(p)} must be a plain path starting with / (no spaces, ?, #, %, \\, // or ..)`);
    }
  }
  return prefixes;
}

export function securityConfig(get: (name: string) => Value, host: string, readFile: (path: string) => string): SecurityConfig {
  const clientsText = get('PROXY_CLIENTS') as string | undefined;
  let clients: CallerSpec[] | undefined;
  if (clientsText !== undefined && clientsText.trim() !== '') {
    clients = parseClients(clientsText, readFile);
  }
  const allowUnauthenticated = get('PROXY_ALLOW_UNAUTHENTICATED') as boolean;
  if (clients === undefined && !allowUnauthenticated && !isLoopbackHost(host)) {
    throw new SettingError('PROXY_CLIENTS', `is required to listen on ${host} (not a loopback address): anyone who can reach the proxy acts in SuiteCRM with its credentials. Set PROXY_CLIENTS to give each caller a key, set PROXY_HOST=127.0.0.1, or set PROXY_ALLOW_UNAUTHENTICATED=true to accept that risk`);
  }
  const headersTimeoutMs = Math.round((get('PROXY_HEADERS_TIMEOUT_SECONDS') as number) * 1000);
  const requestTimeoutMs = Math.round((get('PROXY_REQUEST_TIMEOUT_SECONDS') as number) * 1000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new SettingError('PROXY_HEADERS_TIMEOUT_SECONDS', 'must not be longer than PROXY_REQUEST_TIMEOUT_SECONDS');
  }
  const perSecond = get('PROXY_RATE_LIMIT_PER_SECOND') as number;
  const burst = get('PROXY_RATE_LIMIT_BURST') as number;
  return Object.freeze({
    clients,
    allowUnauthenticated,
    readOnly: get('PROXY_READ_ONLY') as boolean,
    allowedPathPrefixes: prefixList(get('PROXY_ALLOWED_PATH_PREFIXES') as string),
    forwardTokenEndpoint: get('PROXY_FORWARD_TOKEN_ENDPOINT') as boolean,
    bodyLimitBytes: get('PROXY_BODY_LIMIT_BYTES') as number,
    defaultRateLimit: perSecond > 0 ? { perSecond, burst: burst > 0 ? burst : Math.max(1, Math.ceil(perSecond)) } : undefined,
    maxUrlBytes: get('PROXY_MAX_URL_BYTES') as number,
    maxHeaderBytes: get('PROXY_MAX_HEADER_BYTES') as number,
    headersTimeoutMs,
    requestTimeoutMs,
  });
}
