/**
 * HTTP plumbing shared by the token endpoint and the V8 API: body reading and
 * parsing the way Slim 3 does it, PHP-style JSON, and writing responses the way
 * SuiteCRM does (CORS headers, no Content-Length).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';

/** `S7:Api/Core/app.php` adds these to every response. PATCH is missing, as in SuiteCRM. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With',
  'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
};

/** Bodies larger than this are hashed but not kept, so they count as unparsed. */
export const KEEP_BODY_LIMIT = 10 * 1024 * 1024;

export const EMPTY_SHA256 = createHash('sha256').digest('hex');

export interface ReceivedBody {
  length: number;
  sha256: string;
  /** The bytes, or null when not kept (too large, or the caller asked not to). */
  bytes: Buffer | null;
}

/** Read the whole body, hashing while streaming. Rejects if the client goes away. */
export async function readBody(req: IncomingMessage, keep: boolean): Promise<ReceivedBody> {
  const hash = createHash('sha256');
  let chunks: Buffer[] | null = keep ? [] : null;
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk);
    length += chunk.length;
    if (chunks !== null) {
      if (length <= KEEP_BODY_LIMIT) chunks.push(chunk);
      else chunks = null;
    }
  }
  return { length, sha256: hash.digest('hex'), bytes: chunks === null ? null : Buffer.concat(chunks) };
}

/**
 * Slim's media type: the Content-Type before any `;` or `,`, lowercased, with
 * RFC 6839 suffix fallback (`application/vnd.api+json` -> `application/json`).
 */
export function slimMediaType(contentType: string | undefined): string {
  const mediaType = (contentType ?? '').split(/\s*[;,]\s*/)[0]?.trim().toLowerCase() ?? '';
  if (KNOWN_MEDIA_TYPES.has(mediaType)) return mediaType;
  const parts = mediaType.split('+');
  return parts.length >= 2 ? `application/${parts[parts.length - 1] ?? ''}` : mediaType;
}

const KNOWN_MEDIA_TYPES = new Set([
  'application/json',
  'application/xml',
  'text/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
]);

export type ParsedBody = Record<string, unknown> | null;

/** Slim 3 `Request::getParsedBody`: null when the content type has no parser or the body is not an object/array. */
export function parseBody(method: string, contentType: string | undefined, bytes: Buffer | null): ParsedBody {
  if (bytes === null) return null;
  const mediaType = slimMediaType(contentType);
  if (mediaType === 'application/json') return parseJsonBody(bytes);
  if (mediaType === 'application/x-www-form-urlencoded') return parseForm(bytes.toString('utf8'));
  if (mediaType === 'multipart/form-data' && method === 'POST') return parseMultipart(contentType ?? '', bytes);
  return null;
}

function parseJsonBody(bytes: Buffer): ParsedBody {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof value !== 'object' || value === null) return null;
    return Array.isArray(value) ? Object.fromEntries(value.entries()) : (value as Record<string, unknown>);
  } catch {
    return null;
  }
}

/** PHP `parse_str` without nested keys: the last duplicate wins. */
function parseForm(text: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) result[key] = value;
  return result;
}

/** Enough multipart/form-data for `$_POST`: plain fields only, file parts skipped. */
function parseMultipart(contentType: string, bytes: Buffer): ParsedBody {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2]?.trim();
  if (!boundary) return null;
  const result: Record<string, unknown> = {};
  for (const part of bytes.toString('latin1').split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined || /\bfilename=/i.test(head)) continue;
    const value = part.slice(split + 4).replace(/\r\n$/, '');
    result[name] = Buffer.from(value, 'latin1').toString('utf8');
  }
  return result;
}

/** PHP `json_encode` with default flags: compact, `/` and non-ASCII escaped. */
export function phpJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE`, as the V8 controllers use. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 4);
}

export interface Reply {
  status: number;
  headers: OutgoingHttpHeaders;
  /** A string/Buffer body, a stream, or nothing. */
  body?: string | Buffer | Readable;
}

/**
 * Write a reply without Content-Length (SuiteCRM sets `addContentLengthHeader`
 * false, so bodies go out chunked). 400 and 500 add `Connection: close`.
 */
export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const headers: OutgoingHttpHeaders = { ...reply.headers };
  if (reply.status === 400 || reply.status === 500) headers['Connection'] = 'close';
  res.writeHead(reply.status, headers);
  const body = reply.body;
  if (body === undefined) {
    res.end();
  } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
    if (body.length > 0) res.write(body);
    res.end();
  } else {
    pipeline(body, res, () => {
      // The client may hang up mid-stream; nothing to do.
    });
  }
}

/** Does Slim's `determineContentType` pick JSON for this Accept header? (Otherwise it answers HTML.) */
export function acceptsJson(accept: string | undefined): boolean {
  const value = accept ?? '';
  const known = value.split(',').map((t) => t.trim()).find((t) => SLIM_KNOWN_TYPES.has(t));
  if (known !== undefined) return known === 'application/json';
  return /\+json/.test(value);
}

const SLIM_KNOWN_TYPES = new Set(['application/json', 'application/xml', 'text/xml', 'text/html']);
