/** Slim 3's NotFound / NotAllowed handlers: they run before any authentication. */
import { acceptsJson, CORS_HEADERS, type Reply } from './http.js';

export function notFoundReply(accept: string | undefined): Reply {
  if (acceptsJson(accept)) {
    return { status: 404, headers: { ...CORS_HEADERS, 'Content-type': 'application/json' }, body: '{\n    "message": "Not found"\n}' };
  }
  return {
    status: 404,
    headers: { ...CORS_HEADERS, 'Content-type': 'text/html' },
    body:
      '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>Page Not Found</title></head>' +
      '<body><h1>Page Not Found</h1><p>The page you are looking for could not be found. Check the address bar to ensure ' +
      'your URL is spelled correctly. If all else fails, you can visit our home page at the link below.</p>' +
      '<a href="/">Visit the Home Page</a></body></html>',
  };
}

/** 405 with `Allow`, or for OPTIONS a 200 text/plain preflight answer. */
export function notAllowedReply(method: string, allowed: string[], accept: string | undefined): Reply {
  const list = allowed.join(', ');
  if (method === 'OPTIONS') {
    return { status: 200, headers: { ...CORS_HEADERS, 'Content-type': 'text/plain' }, body: `Allowed methods: ${list}` };
  }
  const headers = { ...CORS_HEADERS, Allow: list };
  if (acceptsJson(accept)) {
    return {
      status: 405,
      headers: { ...headers, 'Content-type': 'application/json' },
      body: JSON.stringify({ message: `Method not allowed. Must be one of: ${list}` }, null, 4),
    };
  }
  return {
    status: 405,
    headers: { ...headers, 'Content-type': 'text/html' },
    body:
      '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>Method not allowed</title></head>' +
      `<body><h1>Method not allowed</h1><p>Method not allowed. Must be one of: <strong>${list}</strong></p></body></html>`,
  };
}
