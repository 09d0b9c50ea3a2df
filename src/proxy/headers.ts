/**
 * Header hygiene, kept synchronous and allocation-light: what goes to SuiteCRM and what comes back.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and headers the proxy owns; never forwarded upstream. */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect',
  'host', 'content-length', 'authorization', 'x-proxy-key',
  // Slim honours method overrides; the method the caller used is the one that is proxied.
  'x-http-method-override', 'x-http-method', 'x-method-override',
  // Client-address and routing claims a caller could forge; SuiteCRM must see only what the proxy sets.
  'forwarded', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'client-ip', 'x-cluster-client-ip',
  'x-original-url', 'x-rewrite-url', 'x-original-uri',
]);

/** Every `X-Forwarded-*` header (For, Host, Proto, Port, Prefix, Server...) is dropped too. */
const DROPPED_REQUEST_PREFIX = 'x-forwarded-';

/** Hop-by-hop response headers: Node's server sets its own framing. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** `keep-alive` or `close` alone, what nearly every Connection header says: it names no other header. */
function isPlainConnectionOption(value: string | string[]): boolean {
  if (typeof value !== 'string' || value.length > 10) return false;
  const lower = value.toLowerCase();
  return lower === 'keep-alive' || lower === 'close';
}

/** Headers named in a Connection header are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined || isPlainConnectionOption(value)) return undefined;
  const names = (Array.isArray(value) ? value.join(',') : value).split(',');
  const set = new Set<string>();
  for (const name of names) {
    const trimmed = name.trim().toLowerCase();
    if (trimmed && trimmed !== 'close' && trimmed !== 'keep-alive') set.add(trimmed);
  }
  return set.size > 0 ? set : undefined;
}

/**
 * Headers for the upstream request: the caller's as sent (Content-Type with its parameters
 * included), minus hop-by-hop and credentials; the Bearer token is added by the token
 * injection. `bodyLength` is the exact length of a buffered body, undefined for a stream.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  hostHeader: string,
  bodyLength: number | undefined,
): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    if (DROPPED_REQUEST_HEADERS.has(name) || listed?.has(name) || name.startsWith(DROPPED_REQUEST_PREFIX)) continue;
    const value = incoming[name];
    if (value !== undefined) headers[name] = value;
  }
  headers.host = hostHeader;
  if (bodyLength !== undefined) headers['content-length'] = String(bodyLength);
  else if (incoming['content-length'] !== undefined && incoming['transfer-encoding'] === undefined) {
    headers['content-length'] = incoming['content-length'];
  }
  return headers;
}

/** Response headers to hand back to the caller, as SuiteCRM sent them minus hop-by-hop ones. */
export function downstreamResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const listed = connectionListed(upstream.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (DROPPED_RESPONSE_HEADERS.has(name) || listed?.has(name)) continue;
    const value = upstream[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}
