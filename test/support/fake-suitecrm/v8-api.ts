/**
 * The V8 resource server: Bearer validation first (league's ResourceServer
 * middleware on the `/V8` group), then SuiteCRM's ParamsMiddleware and the
 * controllers, over in-memory records (§4.3, §6, §7).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { accessDenied, OAuthServerError, oauthErrorReply } from './oauth-errors.js';
import { CORS_HEADERS, parseBody, prettyJson, type ReceivedBody, type Reply } from './http.js';
import { dateClaimMs, decodeJwt, hasValidSignature, JwtParseError, stripBearer, type SigningKeys } from './jwt.js';
import { isKnownModule, MODULES, type RecordStore, type StoredRecord } from './records.js';
import type { RouteName } from './routes.js';
import type { TokenRow, TokenTable } from './token-table.js';
import type { Dialect, FakeUser } from './types.js';

export interface V8Deps {
  dialect: Dialect;
  /** The first configured prefix, for the redirect target. */
  prefix: string;
  keys: SigningKeys;
  tokens: TokenTable;
  records: RecordStore;
  users: readonly FakeUser[];
  /** Read per request: how far SuiteCRM's clock runs ahead of ours. */
  clockSkewSeconds(): number;
  /** Read per request: answer every valid token with "has been revoked". */
  rejectAllTokens(): boolean;
}

export interface V8Request {
  route: RouteName;
  params: Record<string, string>;
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: ReceivedBody;
}

/** Validate the Bearer token like `BearerTokenValidator` + `isAccessTokenRevoked`. Throws OAuthServerError. */
export function authenticate(deps: V8Deps, authorization: string | undefined): TokenRow {
  if (authorization === undefined) throw accessDenied('Missing "Authorization" header');
  let jwt;
  try {
    jwt = decodeJwt(stripBearer(authorization));
  } catch (err) {
    if (!(err instanceof JwtParseError)) throw err;
    const hint = deps.dialect === 'L5' && err.kind === 'decoding' ? 'Error while decoding to JSON' : err.message;
    throw accessDenied(hint);
  }
  if (!hasValidSignature(deps.keys, jwt)) throw accessDenied('Access token could not be verified');
  // Zero leeway, on SuiteCRM's (possibly skewed) clock.
  const now = Date.now() + deps.clockSkewSeconds() * 1000;
  const exp = dateClaimMs(jwt.claims['exp']);
  const nbf = dateClaimMs(jwt.claims['nbf']);
  const iat = dateClaimMs(jwt.claims['iat']);
  if ((exp !== undefined && now >= exp) || (nbf !== undefined && nbf > now) || (iat !== undefined && iat > now)) {
    throw accessDenied(deps.dialect === 'L8' ? 'Access token could not be verified' : 'Access token is invalid');
  }
  const jti = jwt.claims['jti'];
  if (deps.tokens.isAccessTokenRevoked(jti, now) || deps.rejectAllTokens()) {
    throw accessDenied('Access token has been revoked');
  }
  return deps.tokens.findByAccessId(jti as string) as TokenRow;
}

/** Authenticate, then run the route. Every outcome is a Reply. */
export function handleV8(deps: V8Deps, request: V8Request): Reply {
  try {
    const row = authenticate(deps, request.headers.authorization);
    return dispatch(deps, request, row);
  } catch (err) {
    if (err instanceof OAuthServerError) return oauthErrorReply(err, deps.dialect, request.headers.authorization);
    if (err instanceof V8Error) return v8ErrorReply(err);
    throw err;
  }
}

/** A V8 application error: always 400. `params` ones come from ParamsMiddleware (application/json). */
class V8Error extends Error {
  constructor(
    detail: string,
    readonly source: 'params' | 'controller',
  ) {
    super(detail);
  }
}

const paramsError = (detail: string): V8Error => new V8Error(detail, 'params');
const controllerError = (detail: string): V8Error => new V8Error(detail, 'controller');

function v8ErrorReply(err: V8Error): Reply {
  const contentType = err.source === 'params' ? 'application/json' : 'application/vnd.api+json';
  return {
    status: 400,
    headers: { ...CORS_HEADERS, 'Content-type': contentType },
    body: prettyJson({ errors: { status: 400, title: null, detail: err.message } }),
  };
}

function ok(status: number, document: unknown): Reply {
  return {
    status,
    headers: { ...CORS_HEADERS, 'Content-type': 'application/vnd.api+json', Accept: 'application/vnd.api+json' },
    body: prettyJson(document),
  };
}

const NO_RESULT = { meta: { message: 'Request was successful, but there is no result' }, data: [] };
const DEFAULT_PAGE_SIZE = 20;

function dispatch(deps: V8Deps, request: V8Request, row: TokenRow): Reply {
  switch (request.route) {
    case 'logout':
      deps.tokens.softDelete(row.accessTokenId);
      return ok(200, { meta: { message: 'You have been successfully logged out' }, data: [] });
    case 'currentUser':
      return currentUser(deps, row);
    case 'metaModules':
      return ok(200, {
        data: {
          type: 'modules',
          id: '',
          attributes: Object.fromEntries(
            Object.keys(MODULES).map((m) => [m, { label: m, access: ['access', 'view', 'list', 'edit', 'delete', 'import', 'export', 'massupdate'] }]),
          ),
        },
      });
    case 'echo':
      return ok(200, {
        method: request.method,
        path: request.url,
        bodyLength: request.body.length,
        bodySha256: request.body.sha256,
        contentType: request.headers['content-type'] ?? null,
      });
    case 'redirect':
      return { status: 302, headers: { ...CORS_HEADERS, Location: `${deps.prefix}/V8/meta/modules` } };
    case 'big':
      return bigBody(request.url);
    case 'token':
      throw new Error('the token route is not a V8 route');
    default:
      return moduleRoute(deps, request, row);
  }
}

function currentUser(deps: V8Deps, row: TokenRow): Reply {
  const user = deps.users.find((u) => u.id === row.userId);
  if (user === undefined) throw controllerError(`Users module with id ${row.userId} is not found`);
  return ok(200, {
    data: {
      type: 'User',
      id: user.id,
      attributes: { user_name: user.username, status: 'Active', is_admin: user.username === 'admin' },
    },
  });
}

/** The `module` routes, behind ParamsMiddleware. */
function moduleRoute(deps: V8Deps, request: V8Request, row: TokenRow): Reply {
  // `setCurrentUserGlobal` loads the token row's user first.
  if (row.userId === '') throw paramsError('Module id is empty when trying to get Users');
  if (!deps.users.some((u) => u.id === row.userId)) throw paramsError(`Users module with id ${row.userId} is not found`);

  const parsed = parseBody(request.method, request.headers['content-type'], request.body.bytes);
  const input: Record<string, unknown> = { ...request.params, ...parseQuery(request.url), ...(parsed ?? {}) };

  switch (request.route) {
    case 'list': {
      resolveOptions(input, ['moduleName', 'fields', 'page', 'sort', 'filter']);
      const module = moduleName(input['moduleName']);
      const page = pageOption(input['page']);
      let records = deps.records.list(module);
      if (typeof input['sort'] === 'string' && input['sort'] !== '') records = sortRecords(records, input['sort']);
      const size = page.size ?? DEFAULT_PAGE_SIZE;
      const number = page.number ?? 1;
      const slice = records.slice((number - 1) * size, number * size);
      if (slice.length === 0) return ok(200, NO_RESULT);
      const totalPages = Math.ceil(records.length / size);
      const link = (n: number): string => `V8/module/${module}?page[number]=${n}&page[size]=${size}`;
      return ok(200, {
        meta: { 'total-pages': totalPages, 'records-on-this-page': slice.length },
        data: slice.map((r) => resource(r, fieldsFor(input['fields'], module))),
        links: {
          first: link(1),
          ...(number > 1 ? { prev: link(number - 1) } : {}),
          ...(number < totalPages ? { next: link(number + 1) } : {}),
          last: link(totalPages),
        },
      });
    }
    case 'get': {
      resolveOptions(input, ['moduleName', 'id', 'fields']);
      const module = moduleName(input['moduleName']);
      const record = deps.records.get(module, recordId(input['id']));
      if (record === undefined) throw controllerError(`${module} module with id ${String(input['id'])} is not found`);
      return ok(200, { data: resource(record, fieldsFor(input['fields'], module)) });
    }
    case 'create': {
      resolveOptions(input, ['data']);
      const data = dataOption(input['data'], false);
      if (data.id !== undefined && deps.records.get(data.module, data.id) !== undefined) {
        throw controllerError(`Bean ${data.module} with id ${data.id} is already exist`);
      }
      return ok(201, { data: resource(deps.records.create(data.module, data.id, data.attributes)) });
    }
    case 'update': {
      resolveOptions(input, ['data']);
      const data = dataOption(input['data'], true);
      const record = deps.records.get(data.module, data.id ?? '');
      if (record === undefined) throw controllerError(`${data.module} module with id ${data.id ?? ''} is not found`);
      return ok(201, { data: resource(deps.records.update(record, data.attributes)) });
    }
    case 'delete': {
      resolveOptions(input, ['moduleName', 'id']);
      const module = moduleName(input['moduleName']);
      const id = recordId(input['id']);
      if (!deps.records.delete(module, id)) throw controllerError(`${module} module with id ${id} is not found`);
      return ok(200, { meta: { message: `Record with id ${id} is deleted` }, data: [] });
    }
    default:
      throw new Error(`unhandled route ${request.route}`);
  }
}

function resource(record: StoredRecord, fields?: string[]): Record<string, unknown> {
  const attributes =
    fields === undefined
      ? record.attributes
      : Object.fromEntries(Object.entries(record.attributes).filter(([k]) => fields.includes(k)));
  return { type: MODULES[record.module] ?? record.module, id: record.id, attributes };
}

/** Symfony OptionsResolver: unknown keys are an error naming the defined ones. */
function resolveOptions(input: Record<string, unknown>, defined: string[]): void {
  const unknown = Object.keys(input)
    .filter((k) => !defined.includes(k))
    .sort();
  if (unknown.length === 0) return;
  const names = `"${unknown.join('", "')}"`;
  const lead = unknown.length > 1 ? `The options ${names} do not exist.` : `The option ${names} does not exist.`;
  throw paramsError(`${lead} Defined options are: "${[...defined].sort().join('", "')}".`);
}

function invalid(name: string, value: unknown): V8Error {
  const shown = typeof value === 'string' ? `"${value}"` : typeof value === 'object' && value !== null ? 'array' : String(value);
  return paramsError(`The option "${name}" with value ${shown} is invalid.`);
}

function moduleName(value: unknown): string {
  if (typeof value !== 'string' || !isKnownModule(value)) throw invalid('moduleName', value);
  return value;
}

const ID_PATTERN = /^\d+$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_LIKE = /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;

function recordId(value: unknown): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw invalid('id', value);
  return value;
}

function pageOption(value: unknown): { size?: number; number?: number } {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('page', value);
  const page = value as Record<string, unknown>;
  resolveOptions(page, ['number', 'size']);
  const positive = (name: string): number | undefined => {
    const raw = page[name];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || !/^[1-9]\d*$/.test(raw)) throw invalid(name, raw);
    return Number(raw);
  };
  return { size: positive('size'), number: positive('number') };
}

function fieldsFor(value: unknown, module: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw invalid('fields', value);
  const list = (value as Record<string, unknown>)[module];
  return typeof list === 'string' ? list.split(',').map((f) => f.trim()) : undefined;
}

/** `sort=name` or `sort=-name`. */
function sortRecords(records: StoredRecord[], sort: string): StoredRecord[] {
  const descending = sort.startsWith('-');
  const field = descending ? sort.slice(1) : sort;
  const value = (r: StoredRecord): string => String(r.attributes[field] ?? '');
  return [...records].sort((a, b) => value(a).localeCompare(value(b)) * (descending ? -1 : 1));
}

/** `{"data":{"type","id"?,"attributes"}}` of create/update. */
function dataOption(value: unknown, requireId: boolean): { module: string; id?: string; attributes: Record<string, unknown> } {
  if (value === undefined) throw paramsError('The required option "data" is missing.');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('data', value);
  const data = value as Record<string, unknown>;
  resolveOptions(data, ['attributes', 'id', 'type']);
  if (data['type'] === undefined) throw paramsError('The required option "type" is missing.');
  const module = data['type'];
  if (typeof module !== 'string' || !isKnownModule(module)) throw invalid('type', module);
  const id = data['id'];
  if (id === undefined && requireId) throw paramsError('The required option "id" is missing.');
  if (id !== undefined && (typeof id !== 'string' || !(requireId ? ID_PATTERN : UUID_LIKE).test(id))) throw invalid('id', id);
  const attributes = data['attributes'] ?? {};
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) throw invalid('attributes', attributes);
  return { module, id, attributes: attributes as Record<string, unknown> };
}

/** PHP-style query parsing: `page[size]=2` becomes `{ page: { size: '2' } }`. */
function parseQuery(url: string): Record<string, unknown> {
  const q = url.indexOf('?');
  const result: Record<string, unknown> = {};
  if (q < 0) return result;
  for (const [key, value] of new URLSearchParams(url.slice(q + 1))) {
    const top = key.split('[')[0] || key;
    const path = [top, ...[...key.slice(top.length).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? '')];
    let target = result;
    for (const [i, part] of path.entries()) {
      if (i === path.length - 1) {
        target[part] = value;
      } else {
        const next = target[part];
        target = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : (target[part] = {});
      }
    }
  }
  return result;
}

/** Pattern bytes 0..255 repeating, so tests can recompute the hash. */
const BIG_CHUNK = Buffer.from(Array.from({ length: 65536 }, (_, i) => i & 0xff));
const BIG_LIMIT = 2 ** 31;

/** `GET /V8/custom/big?bytes=N`: N bytes, streamed. */
function bigBody(url: string): Reply {
  const raw = new URLSearchParams(url.split('?')[1] ?? '').get('bytes') ?? '';
  if (!/^\d+$/.test(raw) || Number(raw) > BIG_LIMIT) throw controllerError('bytes must be an integer between 0 and 2147483648');
  let left = Number(raw);
  function* chunks(): Generator<Buffer> {
    while (left > 0) {
      const size = Math.min(left, BIG_CHUNK.length);
      left -= size;
      yield BIG_CHUNK.subarray(0, size);
    }
  }
  return {
    status: 200,
    headers: { ...CORS_HEADERS, 'Content-type': 'application/octet-stream' },
    body: Readable.from(chunks()),
  };
}
