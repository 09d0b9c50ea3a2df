/**
 * Hostile-input checks that run before anything else looks at a request: the request target
 * must be a plain origin-form path that cannot climb out of its prefix however SuiteCRM's web
 * server decodes it, and method-override tricks in bodies are refused. Pure functions, so the
 * fuzz test can drive them directly.
 */
import { slimMediaType } from './slim-media-type.js';

export type TargetVerdict =
  | { readonly ok: true; readonly rawPath: string; readonly decodedPath: string }
  | { readonly ok: false; readonly code: 'BAD_REQUEST' | 'URI_TOO_LONG'; readonly detail: string };

function refuse(detail: string): TargetVerdict {
  return { ok: false, code: 'BAD_REQUEST', detail };
}

/** Printable ASCII except space: anything else must be percent-encoded in a request target. */
const TARGET_CHARS = /^[\x21-\x7e]*$/;
const ENCODED_SEPARATOR = /%(2f|5c)/i;
const ENCODED_NUL = /%00/;
/** What a path needs before it could hide a dot, empty or backslash segment, or need decoding. */
const MAY_CLIMB = /[%.\\]|\/\//;
/** Decoding rounds: catches double and triple encoding (%252e%252e) that a chain of decoders might undo. */
const DECODE_ROUNDS = 3;

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function decodeOnce(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function hasDotOrEmptySegment(path: string): boolean {
  const segments = path.split('/');
  // segments[0] is the empty string before the leading slash; a trailing slash leaves one empty last segment.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '.' || segment === '..') return true;
    if (segment === '' && i < segments.length - 1) return true;
  }
  return false;
}

/**
 * Checks a raw request target (`request.raw.url`). Accepts only `/path[?query]` where the path,
 * decoded up to three times, has no `.`/`..` or empty segments, backslashes or control bytes.
 */
export function checkRequestTarget(target: string, maxUrlBytes: number): TargetVerdict {
  if (target.length > maxUrlBytes) {
    return { ok: false, code: 'URI_TOO_LONG', detail: `the request target is longer than ${maxUrlBytes} bytes (PROXY_MAX_URL_BYTES)` };
  }
  if (target.charCodeAt(0) !== 47 /* / */) {
    return refuse('the request target must be a path starting with /; absolute-form and authority-form targets are not proxied');
  }
  if (target.charCodeAt(1) === 47) return refuse('the request target must not start with //');
  if (!TARGET_CHARS.test(target)) return refuse('the request target contains spaces, control or non-ASCII bytes; percent-encode them');
  if (target.includes('#')) return refuse('the request target must not contain a fragment (#)');
  if (ENCODED_NUL.test(target)) return refuse('the request target must not contain NUL (%00)');
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  // The fast path: nothing to decode, no dot, empty or backslash segment possible.
  if (!MAY_CLIMB.test(rawPath)) return { ok: true, rawPath, decodedPath: rawPath };
  if (rawPath.includes('\\')) return refuse('the path must not contain backslashes');
  if (ENCODED_SEPARATOR.test(rawPath)) return refuse('the path must not contain encoded slashes or backslashes (%2F, %5C)');
  const decodedPath = decodeOnce(rawPath);
  if (decodedPath === undefined) return refuse('the path contains malformed percent-encoding');
  let current = rawPath;
  for (let round = 0; round <= DECODE_ROUNDS; round++) {
    if (hasDotOrEmptySegment(current)) return refuse('the path must not contain "." or ".." segments or empty segments (//), plain or percent-encoded');
    if (current.includes('\\')) return refuse('the path must not contain backslashes, plain or percent-encoded');
    if (hasControlCharacter(current)) return refuse('the path must not contain control characters, plain or percent-encoded');
    const next = current.includes('%') ? decodeOnce(current) : undefined;
    if (next === undefined || next === current) break;
    current = next;
  }
  return { ok: true, rawPath, decodedPath };
}

/** Content types whose bodies Slim parses, and so could carry a `_METHOD` override. */
export type OverrideBodyKind = 'form' | 'multipart' | 'json' | undefined;

export function overrideBodyKind(contentType: string | undefined): OverrideBodyKind {
  if (contentType === undefined) return undefined;
  const media = slimMediaType(contentType);
  if (media === 'application/x-www-form-urlencoded') return 'form';
  if (media === 'multipart/form-data') return 'multipart';
  if (media === 'application/json') return 'json';
  return undefined;
}

/**
 * PHP turns a form field name into an array key by dropping leading spaces, replacing ' ' and
 * '.' with '_' and cutting at '['; this gives the key Slim would look up.
 */
function phpKey(name: string): string {
  const key = name.replace(/^ +/, '').replace(/[ .]/g, '_');
  const bracket = key.indexOf('[');
  return bracket > 0 ? key.slice(0, bracket) : key;
}

/** Searched as bytes: Buffer#indexOf with a string converts it on every call (twice the time for a 2 KB body). */
const METHOD_BYTES = Buffer.from('METHOD');
const ESCAPE_BYTES = Buffer.from('\\u');

const MULTIPART_NAME = /content-disposition:[^\r\n]*?\bname\s*=\s*"([^"]*)"/gi;

/**
 * True when a POST body would make Slim (SuiteCRM's router) treat the request as another method:
 * a `_METHOD` form field, multipart part or top-level JSON member.
 */
export function bodyOverridesMethod(kind: OverrideBodyKind, body: Buffer): boolean {
  if (kind === undefined || body.length === 0) return false;
  if (kind === 'json') {
    // A member named _METHOD is spelled in the text either as it is or with \u escapes: without
    // either, parsing (the cost of this check for nearly every JSON body) cannot find one.
    if (body.indexOf(METHOD_BYTES) === -1 && body.indexOf(ESCAPE_BYTES) === -1) return false;
    try {
      const doc: unknown = JSON.parse(body.toString('utf8'));
      return typeof doc === 'object' && doc !== null && Object.hasOwn(doc, '_METHOD');
    } catch {
      // SuiteCRM parses nothing out of invalid JSON either.
      return false;
    }
  }
  if (kind === 'form') {
    for (const name of new URLSearchParams(body.toString('latin1')).keys()) {
      if (phpKey(name) === '_METHOD') return true;
    }
    return false;
  }
  for (const match of body.toString('latin1').matchAll(MULTIPART_NAME)) {
    if (phpKey(match[1] ?? '') === '_METHOD') return true;
  }
  return false;
}

/**
 * `_METHOD` as it could be spelled in a body too large to hold in memory, where it cannot be
 * parsed: the name after any character PHP turns into `_` (plain or percent-encoded), or a
 * JSON escape of `_`. METHOD itself stays case-sensitive, as PHP array keys are.
 */
const STREAMED_OVERRIDE = /(?:[_. +[]|%5[fF]|%2[eE]|%20|%5[bB]|\\u005[fF])METHOD/;
/**
 * Escaped letters of `_METHOD` (`%4D`, `\u0045` ...) in form and JSON bodies, which are text:
 * nothing legitimate spells ASCII letters so. Not for multipart, whose binary parts would match.
 */
const ESCAPED_LETTER = /%(?:4[dD5845fF]|5[4fF])|\\u00(?:4[dD5845fF]|5[4fF])/;
/** Bytes kept from the previous chunk, so a pattern split across chunks is still found. */
const OVERLAP = 16;

/**
 * Scans a streamed body chunk by chunk for anything that could be a `_METHOD` key. Deliberately
 * broader than bodyOverridesMethod (which parses): a streamed body is checked without parsing.
 */
export class StreamedOverrideScanner {
  private tail = '';

  constructor(private readonly kind: Exclude<OverrideBodyKind, undefined>) {}

  /** Returns true once the body looks like it carries `_METHOD`. */
  push(chunk: Buffer): boolean {
    const text = this.tail + chunk.toString('latin1');
    this.tail = text.slice(-OVERLAP);
    return STREAMED_OVERRIDE.test(text) || (this.kind !== 'multipart' && ESCAPED_LETTER.test(text));
  }
}
