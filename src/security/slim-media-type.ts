/**
 * The media type of a Content-Type as SuiteCRM's Slim framework reads it, so the proxy's own
 * body handling (the method-override guard, the local token endpoint) sees what SuiteCRM would.
 */
const KNOWN_MEDIA_TYPES = new Set(['application/json', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded', 'multipart/form-data']);

function mediaTypeOf(contentType: string): string {
  const mediaType = contentType.split(/[;,]/, 1)[0]?.trim().toLowerCase() ?? '';
  if (KNOWN_MEDIA_TYPES.has(mediaType)) return mediaType;
  return /^[^/\s]+\/[^\s]*\+json$/.test(mediaType) ? 'application/json' : mediaType;
}

/**
 * Each Content-Type's media type, computed once: callers send the same few on every request, and
 * JSON:API's `application/vnd.api+json` takes the regular expression each time (0.7 µs per POST in
 * the hot path's profile). Bounded, and emptied when full, so invented Content-Types cost no memory.
 */
const MEDIA_TYPES = new Map<string, string>();
const MEDIA_TYPES_LIMIT = 64;
/** Longer Content-Types (a header may be kilobytes) are not kept: at most 64 × 256 characters. */
const MEDIA_TYPE_KEY_LIMIT = 256;

/** Slim's media type: before any `;` or `,`, lowercased; an unknown `type/x+json` counts as JSON (RFC 6839). */
export function slimMediaType(contentType: string | undefined): string {
  const key = contentType ?? '';
  let mediaType = MEDIA_TYPES.get(key);
  if (mediaType === undefined) {
    mediaType = mediaTypeOf(key);
    if (key.length > MEDIA_TYPE_KEY_LIMIT) return mediaType;
    if (MEDIA_TYPES.size >= MEDIA_TYPES_LIMIT) MEDIA_TYPES.clear();
    MEDIA_TYPES.set(key, mediaType);
  }
  return mediaType;
}
