/** SuiteCRM's V8 media type; the proxy's own error documents use it too. */
export const JSONAPI = 'application/vnd.api+json';
