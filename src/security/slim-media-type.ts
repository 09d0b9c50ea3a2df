/**
 * The media type of a Content-Type as SuiteCRM's Slim framework reads it, so the proxy's own
 * body handling (the method-override guard, the local token endpoint) sees what SuiteCRM would.
 */
const KNOWN_MEDIA_TYPES = new Set(['application/json', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded', 'multipart/form-data']);

/** Slim's media type: before any `;` or `,`, lowercased; an unknown `type/x+json` counts as JSON (RFC 6839). */
export function slimMediaType(contentType: string | undefined): string {
  const mediaType = (contentType ?? '').split(/[;,]/, 1)[0]?.trim().toLowerCase() ?? '';
  if (KNOWN_MEDIA_TYPES.has(mediaType)) return mediaType;
  return /^[^/\s]+\/[^\s]*\+json$/.test(mediaType) ? 'application/json' : mediaType;
}
