/**
 * The double itself: a node:http server that routes like SuiteCRM's Slim app,
 * records what it received, and injects the faults tests ask for.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EMPTY_SHA256, parseBody, readBody, writeReply, type ReceivedBody, type Reply } from './http.js';
import { decodeJwt, generateSigningKeys, peekClaims, stripBearer, type PeekedClaims, type SigningKeys } from './jwt.js';
import { OAuthServerError, oauthErrorReply, unknownError } from './oauth-errors.js';
import { RecordStore } from './records.js';
import { RefreshTokenCodec } from './refresh-token.js';
import { LAYOUT_PREFIXES, outsideApiReply, type Layout } from './layout.js';
import { matchRoute, type RouteMatch } from './routes.js';
import { notAllowedReply, notFoundReply } from './slim-handlers.js';
import {
  grantToken,
  redactTokenParams,
  registerClient,
  tokenReply,
  type RegisteredClient,
  type TokenEndpointDeps,
} from './token-endpoint.js';
import { TokenTable } from './token-table.js';
import {
  DEFAULT_CLIENTS,
  DEFAULT_PREFIXES,
  DEFAULT_SLOW_TOKEN_DELAY_MS,
  DEFAULT_TTL_SECONDS,
  DEFAULT_USERS,
  type Dialect,
  type FakeFaults,
  type FakeSuiteCrm,
  type FakeSuiteCrmOptions,
  type RecordedProbe,
  type RecordedRequest,
  type RecordedTokenRequest,
} from './types.js';
import { authenticate, handleV8, type V8Deps } from './v8-api.js';

export async function startFakeSuiteCrm(opts: FakeSuiteCrmOptions = {}): Promise<FakeSuiteCrm> {
  const fake = new FakeSuiteCrmServer(opts, await generateSigningKeys());
  await fake.start();
  return fake;
}

class FakeSuiteCrmServer implements FakeSuiteCrm {
  faults: FakeFaults = {};
  readonly requests: RecordedRequest[] = [];
  readonly tokenRequests: RecordedTokenRequest[] = [];
  readonly probes: RecordedProbe[] = [];
  readonly seenPaths: string[] = [];

  readonly #host: string;
  #port: number;
  readonly #quiet: boolean;
  readonly #dialect: Dialect;
  readonly #prefixes: readonly string[];
  readonly #layout: Layout | undefined;
  readonly #server: Server;
  readonly #tokenDeps: TokenEndpointDeps;
  readonly #v8Deps: V8Deps;
  readonly #tokens = new TokenTable();
  /** Grant type of every token actually issued since the last reset(). */
  readonly #issued: string[] = [];
  #seq = 0;
  #closed = false;
  /** Aborted by stop(): ends pending delays and hung requests. */
  #lifecycle = new AbortController();

  constructor(opts: FakeSuiteCrmOptions, keys: SigningKeys) {
    this.#host = opts.host ?? '127.0.0.1';
    this.#port = opts.port ?? 0;
    this.#quiet = opts.quiet ?? true;
    this.#dialect = opts.dialect ?? 'L8';
    this.#layout = opts.layout;
    this.#prefixes = [...(opts.prefixes ?? (opts.layout === undefined ? DEFAULT_PREFIXES : LAYOUT_PREFIXES[opts.layout]))];
    const ttlSeconds = opts.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds must be a positive integer');
    const users = (opts.users ?? DEFAULT_USERS).map((u) => ({ ...u }));
    const clients = new Map<string, RegisteredClient>(
      (opts.clients ?? DEFAULT_CLIENTS).map((c) => [c.id, registerClient(c, users)]),
    );
    this.#tokenDeps = {
      dialect: this.#dialect,
      ttlSeconds,
      clients,
      users,
      keys,
      codec: new RefreshTokenCodec(),
      tokens: this.#tokens,
      refreshInvalidClientBug: () => this.faults.refreshInvalidClientBug === true,
    };
    this.#v8Deps = {
      dialect: this.#dialect,
      prefix: this.#prefixes[0] ?? '/Api',
      keys,
      tokens: this.#tokens,
      records: new RecordStore(),
      users,
      clockSkewSeconds: () => this.faults.clockSkewSeconds ?? 0,
      rejectAllTokens: () => this.faults.rejectAllTokens === true,
    };
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => this.#crash(res, err));
    });
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `http://${host}:${this.#port}`;
  }

  tokenRequestCount(grant?: string): number {
    return grant === undefined ? this.tokenRequests.length : this.tokenRequests.filter((t) => t.grant === grant).length;
  }

  grantsIssued(grant?: string): number {
    return grant === undefined ? this.#issued.length : this.#issued.filter((g) => g === grant).length;
  }

  setClientSecret(clientId: string, secret: string): void {
    const client = this.#tokenDeps.clients.get(clientId);
    if (client === undefined) throw new Error(`no client ${clientId}`);
    client.secretHash = registerClient({ id: clientId, secret, grant: client.grant }, []).secretHash;
  }

  revokeAll(): void {
    this.#tokens.softDeleteAll();
  }

  revokeAccessToken(accessToken: string): void {
    try {
      const jti = decodeJwt(stripBearer(accessToken)).claims['jti'];
      if (typeof jti === 'string') this.#tokens.markRevoked(jti);
    } catch {
      // Not a JWT: nothing to revoke.
    }
  }

  /** Would a V8 call with this token be accepted right now (faults and clock skew included)? */
  isTokenValid(accessToken: string): boolean {
    try {
      authenticate(this.#v8Deps, `Bearer ${accessToken}`);
      return true;
    } catch {
      return false;
    }
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error('this fake SuiteCRM was closed; start a new one');
    if (this.#server.listening) return;
    this.#lifecycle = new AbortController();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.#lifecycle.abort();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }

  reset(): void {
    this.faults = {};
    this.requests.length = 0;
    this.tokenRequests.length = 0;
    this.probes.length = 0;
    this.seenPaths.length = 0;
    this.#issued.length = 0;
    this.#seq = 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {
      // The client went away; nothing to report.
    });
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    this.seenPaths.push(url);
    const match = matchRoute(this.#prefixes, method, url.split('?')[0] ?? '/');
    if (!this.#quiet) res.on('close', () => console.error(`[fake-suitecrm] ${method} ${url} -> ${res.headersSent ? res.statusCode : 'dropped'}`));
    if (match.kind === 'route' && match.name === 'token') await (isProbe(req) ? this.#handleProbe(req, res, url) : this.#handleToken(req, res));
    else await this.#handleApi(req, res, match, method, url);
  }

  async #handleProbe(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if ((await this.#readBody(req, false)) === undefined) return;
    const reply = this.#grant(null, undefined, 'ok');
    this.probes.push({ path, status: reply.status });
    writeReply(res, reply);
  }

  async #handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = req.headers['content-type'] ?? '';
    const entry: RecordedTokenRequest = { grant: '', status: 0, contentType, body: {} };
    this.tokenRequests.push(entry);
    const body = await this.#readBody(req, true);
    if (body === undefined) return;
    const params = parseBody('POST', contentType, body.bytes);
    entry.grant = typeof params?.['grant_type'] === 'string' ? params['grant_type'] : '';
    entry.body = redactTokenParams(params);
    if (!(await this.#hold(params?.['client_id']))) return;

    const mode = this.faults.tokenEndpoint ?? 'ok';
    const delayMs = this.faults.tokenDelayMs ?? (mode === 'slow' ? DEFAULT_SLOW_TOKEN_DELAY_MS : 0);
    if (delayMs > 0 && !(await this.#delay(delayMs))) return;
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    const authorization = req.headers.authorization;
    const reply = TOKEN_FAULT_REPLIES[mode]?.(this.#dialect, authorization) ?? this.#grant(params, authorization, mode);
    entry.status = reply.status;
    writeReply(res, reply);
  }

  #grant(params: ReturnType<typeof parseBody>, authorization: string | undefined, mode: string): Reply {
    try {
      const { grant, tokens } = grantToken(this.#tokenDeps, params, authorization);
      this.#issued.push(grant);
      const body: Record<string, unknown> = { ...tokens };
      if (mode === 'missing-expires-in') delete body['expires_in'];
      if (mode === 'non-numeric-expires-in') body['expires_in'] = 'soon';
      return tokenReply(body);
    } catch (err) {
      if (err instanceof OAuthServerError) return oauthErrorReply(err, this.#dialect, authorization);
      throw err;
    }
  }

  async #handleApi(req: IncomingMessage, res: ServerResponse, match: RouteMatch, method: string, url: string): Promise<void> {
    const record: RecordedRequest = {
      seq: ++this.#seq,
      method,
      path: url,
      headers: { ...req.headers },
      bodyLength: 0,
      bodySha256: EMPTY_SHA256,
      status: 0,
      applied: false,
      closedBeforeAnswer: false,
    };
    this.#recordToken(record, peekClaims(req.headers.authorization));
    this.requests.push(record);
    let answered = false;
    res.once('finish', () => { answered = true; });
    res.once('close', () => { record.closedBeforeAnswer = !answered; });

    // The echo route only hashes: a 20 MB upload is never held in memory.
    const body = await this.#readBody(req, !(match.kind === 'route' && match.name === 'echo'));
    if (body === undefined) return;
    record.bodyLength = body.length;
    record.bodySha256 = body.sha256;

    const apiHold = this.faults.apiHold;
    if (apiHold !== undefined && !(await this.#until(apiHold.until))) return;
    const mode = this.faults.api ?? 'ok';
    const delayMs = this.faults.apiDelayMs ?? 0;
    if (delayMs > 0 && !(await this.#delay(delayMs))) return;
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (mode === 'hang') {
      await this.#untilStopped();
      return;
    }

    const reply = mode === 'unavailable-503'
      ? { status: 503, headers: { 'Content-Type': 'text/html; charset=UTF-8', 'Retry-After': '1' }, body: '<html><body><h1>503 Service Unavailable</h1></body></html>' }
      : this.#route(req, match, method, url, body);
    if (mode === 'close-after-response') {
      reply.headers = { ...reply.headers, Connection: 'close' };
      res.on('finish', () => req.socket.end());
    }
    record.status = reply.status;
    record.applied = reply.status >= 200 && reply.status < 400;
    writeReply(res, reply);
  }

  /** Whose token a request carried: its row id, its client, and the user SuiteCRM runs the request as. */
  #recordToken(record: RecordedRequest, claims: PeekedClaims): void {
    if (claims.jti !== undefined) record.tokenJti = claims.jti;
    if (claims.aud !== undefined) record.tokenClientId = claims.aud;
    // The row's user (`assigned_user_id`), as SuiteCRM's ParamsMiddleware takes it; a client_credentials
    // JWT's `sub` is ''. A token this double never issued falls back to a non-empty `sub`.
    const rowUser = claims.jti === undefined ? undefined : this.#tokens.findByAccessId(claims.jti)?.userId;
    const userId = rowUser ?? (claims.sub === '' ? undefined : claims.sub);
    if (userId !== undefined) record.tokenUserId = userId;
  }

  #route(req: IncomingMessage, match: RouteMatch, method: string, url: string, body: ReceivedBody): Reply {
    switch (match.kind) {
      case 'not-found':
        return outsideApiReply(this.#layout, this.#prefixes, url.split('?')[0] ?? '/', req.headers.accept) ?? notFoundReply(req.headers.accept);
      case 'not-allowed':
        return notAllowedReply(method, match.allowed, req.headers.accept);
      case 'route':
        return handleV8(this.#v8Deps, { route: match.name, params: match.params, method, url, headers: req.headers, body });
    }
  }

  /** Resolves undefined if the client went away (or the server stopped) mid-body. */
  async #readBody(req: IncomingMessage, keep: boolean): Promise<ReceivedBody | undefined> {
    try {
      return await readBody(req, keep);
    } catch {
      req.socket.destroy();
      return undefined;
    }
  }

  /** Waits while `faults.tokenHold` holds this client's token requests. Resolves false when stop() cut it short. */
  async #hold(clientId: unknown): Promise<boolean> {
    const hold = this.faults.tokenHold;
    if (hold === undefined || typeof clientId !== 'string' || !hold.clientIds.includes(clientId)) return true;
    return this.#until(hold.until);
  }

  /** Waits until `until` settles; resolves false when stop() cut it short. */
  #until(until: Promise<unknown>): Promise<boolean> {
    const released = until.then(() => true, () => true);
    return Promise.race([released, this.#untilStopped().then(() => false)]);
  }

  /** Sleep, cut short by stop(). Resolves false when cut short. */
  async #delay(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.#lifecycle.signal });
      return true;
    } catch {
      return false;
    }
  }

  #untilStopped(): Promise<void> {
    const signal = this.#lifecycle.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  #crash(res: ServerResponse, err: unknown): void {
    if (!this.#quiet) console.error('[fake-suitecrm] handler failed', err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Like Slim's error handler for an uncaught PHP Error.
    writeReply(res, { status: 500, headers: { 'Content-type': 'text/plain' }, body: 'Slim Application Error' });
  }
}

/** An empty POST without credentials: a detection probe (RecordedProbe), not a token request. */
function isProbe(req: IncomingMessage): boolean {
  const { headers } = req;
  const empty = headers['content-length'] === '0' || (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined);
  return empty && headers['content-type'] === undefined && headers.authorization === undefined;
}

const APACHE_500 =
  '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>500 Internal Server Error</title>\n' +
  '</head><body>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error or\nmisconfiguration ' +
  'and was unable to complete\nyour request.</p>\n</body></html>\n';

const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
  '<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/** Token-endpoint faults that replace the answer entirely, whatever was asked. */
const TOKEN_FAULT_REPLIES: Partial<Record<string, (dialect: Dialect, authorization: string | undefined) => Reply>> = {
  error500: (dialect, authorization) =>
    oauthErrorReply(unknownError('SQLSTATE[HY000] [2002] Connection refused'), dialect, authorization),
  html500: () => ({ status: 500, headers: { 'Content-Type': 'text/html; charset=iso-8859-1' }, body: APACHE_500 }),
  garbage: () => ({ ...tokenReply({}), body: '{not json' }),
  'bad-gateway-502': () => ({ status: 502, headers: { 'Content-Type': 'text/html' }, body: NGINX_502 }),
};
