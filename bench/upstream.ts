/**
 * A fast stand-in for SuiteCRM, for the benchmark only: it checks the Bearer token on every V8
 * request, answers GET with a 1 KB JSON:API document and accepts POST bodies, and serves
 * /Api/access_token so the proxy's real token manager obtains (and renews) tokens from it.
 * It runs in its own process so its CPU is never counted as the proxy's.
 *
 *   node dist/bench/upstream.js [--ttl SECONDS] [--token-delay-ms MS] [--static-token TOKEN]
 *
 * Prints one JSON line `{"port":N}` once listening. Control endpoints (bench only):
 * GET /_bench/stats, POST /_bench/revoke (every issued token answers 401 from then on).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    ttl: { type: 'string', default: '3600' },
    'token-delay-ms': { type: 'string', default: '0' },
    'static-token': { type: 'string', default: 'bench-static-token' },
  },
});

const ttlSeconds = Number(args.ttl);
const tokenDelayMs = Number(args['token-delay-ms']);
const staticAuthorization = `Bearer ${args['static-token']}`;

/** One Accounts record, padded to exactly 1024 bytes of JSON:API. */
function jsonApiDocument(size: number): Buffer {
  const doc = { data: { type: 'Accounts', id: '7b2a3c1e-0000-4000-8000-000000000001', attributes: { name: 'Bench Account', description: '' } } };
  const base = Buffer.byteLength(JSON.stringify(doc));
  doc.data.attributes.description = 'x'.repeat(Math.max(0, size - base));
  return Buffer.from(JSON.stringify(doc));
}

const DOCUMENT = jsonApiDocument(1024);
const UNAUTHORIZED = Buffer.from(JSON.stringify({ error: 'access_denied', message: 'The resource owner or authorization server denied the request.' }));
const JSON_API_HEADERS = { 'content-type': 'application/vnd.api+json', 'content-length': DOCUMENT.length };

/** access token -> expiry (ms since epoch). */
const issued = new Map<string, number>();
const stats = { tokenRequests: 0, apiRequests: 0, unauthorized: 0, revocations: 0, tokenRequestTimes: [] as number[] };
/** Enough timestamps for any bounded run; older ones are dropped. */
const MAX_TIMES = 1000;

function authorized(header: string | undefined): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  if (header === staticAuthorization) return true;
  const expiry = issued.get(header.slice(7));
  return expiry !== undefined && expiry > Date.now();
}

function drain(req: IncomingMessage, then: (bytes: number) => void): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  req.on('end', () => then(bytes));
}

/** An empty POST (the proxy finding the API at start-up) gets league's answer, as from SuiteCRM; it is no token request. */
const UNSUPPORTED_GRANT = JSON.stringify({ error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported by the authorization server.' });

function issueToken(res: ServerResponse): void {
  stats.tokenRequests += 1;
  stats.tokenRequestTimes.push(Date.now());
  if (stats.tokenRequestTimes.length > MAX_TIMES) stats.tokenRequestTimes.shift();
  const accessToken = `bench.${randomBytes(24).toString('base64url')}.sig`;
  issued.set(accessToken, Date.now() + ttlSeconds * 1000);
  const body = JSON.stringify({ token_type: 'Bearer', expires_in: ttlSeconds, access_token: accessToken });
  const send = (): void => {
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'cache-control': 'no-store' });
    res.end(body);
  };
  if (tokenDelayMs > 0) setTimeout(send, tokenDelayMs);
  else send();
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url.startsWith('/Api/V8/')) {
    stats.apiRequests += 1;
    drain(req, () => {
      if (!authorized(req.headers.authorization)) {
        stats.unauthorized += 1;
        res.writeHead(401, { 'content-type': 'application/json', 'content-length': UNAUTHORIZED.length });
        res.end(UNAUTHORIZED);
        return;
      }
      res.writeHead(req.method === 'POST' ? 201 : 200, JSON_API_HEADERS);
      res.end(DOCUMENT);
    });
    return;
  }
  if (url === '/Api/access_token' && req.method === 'POST') {
    drain(req, (bytes) => {
      if (bytes > 0) return issueToken(res);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(UNSUPPORTED_GRANT);
    });
    return;
  }
  if (url === '/_bench/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (url === '/_bench/revoke' && req.method === 'POST') {
    stats.revocations += 1;
    issued.clear();
    res.writeHead(204);
    res.end();
    return;
  }
  res.writeHead(404);
  res.end();
}

const server = createServer({ keepAliveTimeout: 60_000 }, handle);
server.listen(Number(args.port), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
