/**
 * `POST {prefix}/access_token`: league/oauth2-server's AuthorizationServer with
 * SuiteCRM's three grants and repositories, validation in league's order (§3).
 * Throws OAuthServerError for every refusal; the server renders it.
 */
import { createHash } from 'node:crypto';
import {
  invalidClient,
  invalidRefreshToken,
  invalidRequest,
  invalidScope,
  unknownError,
  unsupportedGrantType,
} from './oauth-errors.js';
import { CORS_HEADERS, phpJson, type ParsedBody, type Reply } from './http.js';
import { newTokenId, signAccessToken, type SigningKeys } from './jwt.js';
import type { RefreshPayload, RefreshTokenCodec } from './refresh-token.js';
import type { TokenRow, TokenTable } from './token-table.js';
import type { Dialect, FakeClient, FakeUser } from './types.js';

/** A client as stored in `oauth2clients`: the secret only as its sha256. */
export interface RegisteredClient {
  id: string;
  secretHash: string;
  grant: FakeClient['grant'];
  userId: string | undefined;
  confidential: boolean;
}

export function registerClient(client: FakeClient, users: readonly FakeUser[]): RegisteredClient {
  return {
    id: client.id,
    secretHash: sha256(client.secret),
    grant: client.grant,
    userId: client.userId ?? users[0]?.id,
    confidential: client.confidential ?? true,
  };
}

export interface TokenEndpointDeps {
  dialect: Dialect;
  ttlSeconds: number;
  clients: ReadonlyMap<string, RegisteredClient>;
  users: readonly FakeUser[];
  keys: SigningKeys;
  codec: RefreshTokenCodec;
  tokens: TokenTable;
  /** Read per request: the 7.13.3–7.14.4 "every refresh is invalid_client" bug. */
  refreshInvalidClientBug(): boolean;
}

export type GrantType = 'client_credentials' | 'password' | 'refresh_token';

export interface IssuedTokens {
  token_type: 'Bearer';
  expires_in: number;
  access_token: string;
  refresh_token?: string;
}

/** Run one token request; returns the grant used and the tokens, or throws OAuthServerError. */
export function grantToken(
  deps: TokenEndpointDeps,
  body: ParsedBody,
  authorization: string | undefined,
): { grant: GrantType; tokens: IssuedTokens } {
  const params = body ?? {};
  const grant = params['grant_type'];
  switch (grant) {
    case 'client_credentials':
      return { grant, tokens: clientCredentialsGrant(deps, params, authorization) };
    case 'password':
      return { grant, tokens: passwordGrant(deps, params, authorization) };
    case 'refresh_token':
      return { grant, tokens: refreshTokenGrant(deps, params, authorization) };
    default:
      throw unsupportedGrantType(deps.dialect);
  }
}

/** The 200 answer of `BearerTokenResponse`. */
export function tokenReply(body: Record<string, unknown>): Reply {
  return {
    status: 200,
    headers: {
      ...CORS_HEADERS,
      pragma: 'no-cache',
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=UTF-8',
    },
    body: phpJson(body),
  };
}

const SECRET_PARAMS = ['client_secret', 'password', 'refresh_token'];

/** The parsed parameters safe to keep in test records. */
export function redactTokenParams(body: ParsedBody): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(body ?? {}) };
  for (const key of SECRET_PARAMS) if (key in copy) copy[key] = '***';
  return copy;
}

type Params = Record<string, unknown>;

function clientCredentialsGrant(deps: TokenEndpointDeps, params: Params, authorization: string | undefined): IssuedTokens {
  if (deps.dialect === 'L8') {
    const { clientId } = clientCredentials(deps, params, authorization);
    if (!findClient(deps, clientId).confidential) throw invalidClient();
  }
  const client = validateClient(deps, params, authorization, 'client_credentials');
  checkScope(deps, params);
  // L5 has no grant-type check; token persistence then finds no user for a password client.
  if (client.grant !== 'client_credentials' || client.userId === undefined) throw unknownError('No user found');
  return issue(deps, client, { userId: client.userId, subject: '', grant: 'client_credentials', withRefresh: false });
}

function passwordGrant(deps: TokenEndpointDeps, params: Params, authorization: string | undefined): IssuedTokens {
  const client = validateClient(deps, params, authorization, 'password');
  checkScope(deps, params);
  const username = requireString(deps, params, 'username');
  const password = requireString(deps, params, 'password');
  // `UserRepository::getUserEntityByUserCredentials` throws instead of returning null (§3.4).
  const user = deps.users.find((u) => u.username.toLowerCase() === username.toLowerCase());
  if (user === undefined) throw unknownError(`No user found with this username: ${username}`);
  if (user.password !== password) throw unknownError(`The password is invalid: ${password}`);
  const owner = deps.dialect === 'L5' && client.grant === 'client_credentials' ? (client.userId ?? user.id) : user.id;
  return issue(deps, client, { userId: owner, subject: user.id, grant: 'password', withRefresh: true });
}

function refreshTokenGrant(deps: TokenEndpointDeps, params: Params, authorization: string | undefined): IssuedTokens {
  const client = validateClient(deps, params, authorization, 'refresh_token');
  const encrypted = requireString(deps, params, 'refresh_token');
  let old: RefreshPayload;
  try {
    old = deps.codec.decode(encrypted);
  } catch {
    throw invalidRefreshToken('Cannot decrypt the refresh token', deps.dialect);
  }
  const now = Date.now();
  if (old.client_id !== client.id) throw invalidRefreshToken('Token is not linked to client', deps.dialect);
  if (old.expire_time < Math.floor(now / 1000)) throw invalidRefreshToken('Token has expired', deps.dialect);
  if (deps.tokens.isRefreshTokenRevoked(old.refresh_token_id, now)) {
    throw invalidRefreshToken('Token has been revoked', deps.dialect);
  }
  checkScope(deps, params);
  // Rotation: revoking the old access token soft-deletes its row, refresh token included.
  const oldRow = deps.tokens.findByAccessId(old.access_token_id);
  deps.tokens.softDelete(old.access_token_id);
  return issue(deps, client, {
    userId: oldRow?.userId ?? old.user_id,
    subject: old.user_id,
    grant: 'refresh_token',
    withRefresh: true,
  });
}

/** `AbstractGrant::getClientCredentials`: body first, HTTP Basic as the default. */
function clientCredentials(
  deps: TokenEndpointDeps,
  params: Params,
  authorization: string | undefined,
): { clientId: string; clientSecret: unknown } {
  const [basicUser, basicPassword] = basicAuth(authorization);
  const clientId = params['client_id'] ?? basicUser;
  if (clientId === undefined || clientId === null) throw invalidRequest('client_id');
  const clientSecret = params['client_secret'] ?? basicPassword;
  if (deps.dialect === 'L8' && clientSecret !== undefined && clientSecret !== null && typeof clientSecret !== 'string') {
    throw invalidRequest('client_secret');
  }
  return { clientId: phpString(clientId), clientSecret };
}

/** `BeanManager::getBeanSafe` throws, which the middleware turns into 500 unknown_error. */
function findClient(deps: TokenEndpointDeps, clientId: string): RegisteredClient {
  if (clientId === '') throw unknownError('Module id is empty when trying to get OAuth2Clients');
  const client = deps.clients.get(clientId);
  if (client === undefined) throw unknownError(`OAuth2Clients module with id ${clientId} is not found`);
  return client;
}

/** `ClientRepository::validateClient` (7.14.5+): sha256 secret, and the grant type unless refreshing. */
function validateClient(
  deps: TokenEndpointDeps,
  params: Params,
  authorization: string | undefined,
  grant: GrantType,
): RegisteredClient {
  const { clientId, clientSecret } = clientCredentials(deps, params, authorization);
  const client = findClient(deps, clientId);
  if (grant === 'refresh_token' && deps.refreshInvalidClientBug()) throw invalidClient();
  const secretOk = sha256(clientSecret === undefined || clientSecret === null ? '' : phpString(clientSecret)) === client.secretHash;
  const grantOk = deps.dialect === 'L5' || grant === 'refresh_token' || grant === client.grant;
  if (!secretOk || !grantOk) throw invalidClient();
  return client;
}

/** SuiteCRM knows no scopes: any non-empty one is invalid_scope. */
function checkScope(deps: TokenEndpointDeps, params: Params): void {
  const scope = params['scope'];
  let items: string[] = [];
  if (typeof scope === 'string') items = scope.trim().split(' ');
  else if (Array.isArray(scope)) items = scope.map((s) => phpString(s));
  else if (scope !== undefined && scope !== null) items = [phpString(scope)];
  const first = items.find((s) => s !== '');
  if (first !== undefined) throw invalidScope(first, deps.dialect);
}

/** L8 demands a JSON string; L5 only presence. */
function requireString(deps: TokenEndpointDeps, params: Params, name: string): string {
  const value = params[name];
  if (value === undefined || value === null) throw invalidRequest(name);
  if (typeof value !== 'string') {
    if (deps.dialect === 'L8') throw invalidRequest(name);
    return phpString(value);
  }
  return value;
}

function issue(
  deps: TokenEndpointDeps,
  client: RegisteredClient,
  token: { userId: string; subject: string; grant: GrantType; withRefresh: boolean },
): IssuedTokens {
  const now = Date.now();
  const jti = newTokenId();
  const accessToken = signAccessToken(
    deps.keys,
    { clientId: client.id, jti, issuedAtMs: now, ttlSeconds: deps.ttlSeconds, subject: token.subject },
    deps.dialect,
  );
  const row: TokenRow = {
    accessTokenId: jti,
    accessExpiresAtMs: now + deps.ttlSeconds * 1000,
    clientId: client.id,
    userId: token.userId,
    grant: token.grant,
    deleted: false,
    revoked: false,
  };
  const issued: IssuedTokens = { token_type: 'Bearer', expires_in: deps.ttlSeconds, access_token: accessToken };
  if (token.withRefresh) {
    row.refreshTokenId = newTokenId();
    row.refreshExpiresAtMs = addOneMonth(now);
    issued.refresh_token = deps.codec.encode({
      client_id: client.id,
      refresh_token_id: row.refreshTokenId,
      access_token_id: jti,
      scopes: [],
      user_id: token.subject,
      expire_time: Math.floor(row.refreshExpiresAtMs / 1000),
    });
  }
  deps.tokens.insert(row);
  return issued;
}

/** P1M: a calendar month. */
function addOneMonth(ms: number): number {
  const date = new Date(ms);
  date.setUTCMonth(date.getUTCMonth() + 1);
  return date.getTime();
}

/** `base64_decode` of `Authorization: Basic ...`, split at the first colon; no URL-decoding (league does none). */
function basicAuth(authorization: string | undefined): [string | undefined, string | undefined] {
  if (authorization === undefined || !authorization.startsWith('Basic ')) return [undefined, undefined];
  const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (decoded === '' || colon < 0) return [undefined, undefined];
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** PHP's string conversion, near enough. */
function phpString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? '1' : '';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object' && value !== null) return 'Object';
  return String(value);
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
