/**
 * Proves the SuiteCRM test double behaves as /work/shared/suitecrm-api.md says,
 * with real fetch calls against real servers on 127.0.0.1 port 0.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { sha256 } from './digest.js';
import { settledCheck, until } from './wait.js';
import {
  DEFAULT_CLIENTS,
  DEFAULT_USERS,
  SEED_ACCOUNT_IDS,
  startFakeSuiteCrm,
  type FakeSuiteCrm,
} from './fake-suitecrm.js';

const FORM = 'application/x-www-form-urlencoded';
const CC = { client_id: 'cc-client', client_secret: 'cc-secret-S3cr3t!' };
const PW = { client_id: 'pw-client', client_secret: 'pw-secret-S3cr3t!' };
const ADMIN = { username: 'admin', password: 'admin-P4ssw0rd!' };
const CC_GRANT = { grant_type: 'client_credentials', ...CC };
const PW_GRANT = { grant_type: 'password', ...PW, ...ADMIN };

interface TokenBody {
  token_type: string;
  expires_in?: unknown;
  access_token: string;
  refresh_token?: string;
}

interface OAuthErrorBody {
  error: string;
  error_description?: string;
  hint?: string;
  message: string;
}

interface V8ErrorBody {
  errors: { status: number; title: null; detail: string };
}

interface Answer {
  res: Response;
  text: string;
}

async function send(fake: FakeSuiteCrm, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(fake.url + path, { redirect: 'manual', ...init });
  return { res, text: await res.text() };
}

function postToken(
  fake: FakeSuiteCrm,
  body: string | FormData,
  contentType: string | undefined,
  headers: Record<string, string> = {},
  path = '/Api/access_token',
): Promise<Answer> {
  const allHeaders = contentType === undefined ? headers : { 'content-type': contentType, ...headers };
  return send(fake, path, { method: 'POST', headers: allHeaders, body });
}

const form = (params: Record<string, string>): string => new URLSearchParams(params).toString();

async function grant(fake: FakeSuiteCrm, params: Record<string, string>): Promise<TokenBody> {
  const { res, text } = await postToken(fake, form(params), FORM);
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as TokenBody;
}

function v8(fake: FakeSuiteCrm, path: string, token: string | undefined, init: RequestInit = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  return send(fake, `/Api/V8${path}`, { ...init, headers });
}

function jwtParts(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown>; rawClaims: string } {
  const [h = '', c = ''] = jwt.split('.');
  const rawClaims = Buffer.from(c, 'base64url').toString('utf8');
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')), claims: JSON.parse(rawClaims), rawClaims };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** The error code under fetch's "fetch failed" TypeError (ECONNREFUSED, UND_ERR_SOCKET, ...), or the error name. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? (err as Error).name;
  }
  assert.fail('expected the request to fail');
}


function assertCors(res: Response): void {
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('access-control-allow-methods'), 'POST, GET, OPTIONS, PUT, DELETE');
}

describe('fake SuiteCRM (L8, default options)', () => {
  let fake: FakeSuiteCrm;
  before(async () => {
    fake = await startFakeSuiteCrm({
      clients: [
        ...DEFAULT_CLIENTS,
        { id: 'public-cc', secret: 'public-secret', grant: 'client_credentials', confidential: false },
        { id: 'pw-client-2', secret: 'other-secret', grant: 'password' },
      ],
    });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  describe('token endpoint', () => {
    it('client_credentials: 200, compact league body, no-store headers, RS256 JWT with float dates', async () => {
      const { res, text } = await postToken(fake, form(CC_GRANT), FORM);
      assert.equal(res.status, 200);
      const body = JSON.parse(text) as TokenBody;
      assert.deepEqual(Object.keys(body), ['token_type', 'expires_in', 'access_token']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 3600);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=UTF-8');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('pragma'), 'no-cache');
      assert.equal(res.headers.get('content-length'), null);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
      assertCors(res);

      const { header, claims, rawClaims } = jwtParts(body.access_token);
      assert.deepEqual(header, { typ: 'JWT', alg: 'RS256' });
      assert.deepEqual(Object.keys(claims), ['aud', 'jti', 'iat', 'nbf', 'exp', 'sub', 'scopes']);
      assert.equal(claims['aud'], 'cc-client');
      assert.match(String(claims['jti']), /^[0-9a-f]{80}$/);
      assert.equal(claims['sub'], '');
      assert.deepEqual(claims['scopes'], []);
      assert.match(rawClaims, /"iat":\d{10}\.\d{6},"nbf":\d{10}\.\d{6},"exp":\d{10}\.\d{6},/);
      assert.ok(Math.abs(Number(claims['exp']) - Number(claims['iat']) - 3600) < 1e-3);
      assert.ok(fake.isTokenValid(body.access_token));
      assert.equal(fake.grantsIssued('client_credentials'), 1);
    });

    it('password: adds a def50200 refresh token and sub = user id', async () => {
      const { res, text } = await postToken(fake, JSON.stringify(PW_GRANT), 'application/json');
      assert.equal(res.status, 200);
      const body = JSON.parse(text) as TokenBody;
      assert.deepEqual(Object.keys(body), ['token_type', 'expires_in', 'access_token', 'refresh_token']);
      assert.match(body.refresh_token ?? '', /^def50200[0-9a-f]+$/);
      assert.equal(jwtParts(body.access_token).claims['sub'], DEFAULT_USERS[0]?.id);
      assert.equal(jwtParts(body.access_token).claims['aud'], 'pw-client');
    });

    it('accepts form, JSON, any +json (with or without charset), multipart and HTTP Basic client auth', async () => {
      const json = JSON.stringify(CC_GRANT);
      for (const type of ['application/vnd.api+json', 'application/vnd.api+json; charset=utf-8', 'application/merge-patch+json', 'APPLICATION/JSON']) {
        const { res, text } = await postToken(fake, json, type);
        assert.equal(res.status, 200, `${type}: ${text}`);
      }
      const multipart = new FormData();
      for (const [k, v] of Object.entries(PW_GRANT)) multipart.append(k, v);
      assert.equal((await postToken(fake, multipart, undefined)).res.status, 200);

      const basicForm = await postToken(fake, 'grant_type=client_credentials', FORM, { authorization: basic(CC.client_id, CC.client_secret) });
      assert.equal(basicForm.res.status, 200, basicForm.text);
      const basicJson = await postToken(fake, JSON.stringify({ grant_type: 'password', ...ADMIN }), 'application/json', {
        authorization: basic(PW.client_id, PW.client_secret),
      });
      assert.equal(basicJson.res.status, 200, basicJson.text);
      assert.equal(fake.grantsIssued(), 7);
    });

    it('text/plain or no Content-Type -> 400 unsupported_grant_type, exact L8 body, Connection: close', async () => {
      for (const type of ['text/plain', undefined]) {
        const { res, text } = await postToken(fake, JSON.stringify(CC_GRANT), type);
        assert.equal(res.status, 400);
        assert.equal(
          text,
          '{"error":"unsupported_grant_type","error_description":"The authorization grant type is not supported by the authorization server.",' +
            '"hint":"Check that all required parameters have been provided","message":"The authorization grant type is not supported by the authorization server."}',
        );
        assert.equal(res.headers.get('content-type'), 'application/json');
        assert.equal(res.headers.get('connection'), 'close');
        assertCors(res);
      }
      const unknownGrant = await postToken(fake, form({ ...CC, grant_type: 'authorization_code' }), FORM);
      assert.equal((JSON.parse(unknownGrant.text) as OAuthErrorBody).error, 'unsupported_grant_type');
    });

    it('wrong secret, non-confidential client, grant not allowed -> 401 invalid_client; WWW-Authenticate only when Authorization was sent', async () => {
      const wrong = await postToken(fake, form({ ...CC_GRANT, client_secret: 'nope' }), FORM);
      assert.equal(wrong.res.status, 401);
      assert.equal(
        wrong.text,
        '{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}',
      );
      assert.equal(wrong.res.headers.get('www-authenticate'), null);

      const wrongBasic = await postToken(fake, 'grant_type=client_credentials', FORM, { authorization: basic('cc-client', 'nope') });
      assert.equal(wrongBasic.res.status, 401);
      assert.equal(wrongBasic.res.headers.get('www-authenticate'), 'Basic realm="OAuth"');

      const publicClient = await postToken(fake, form({ grant_type: 'client_credentials', client_id: 'public-cc', client_secret: 'public-secret' }), FORM);
      assert.equal(publicClient.res.status, 401);
      const wrongGrant = await postToken(fake, form({ grant_type: 'client_credentials', ...PW }), FORM);
      assert.equal(wrongGrant.res.status, 401);
      const ccAsPassword = await postToken(fake, form({ ...PW_GRANT, ...CC }), FORM);
      assert.equal(ccAsPassword.res.status, 401);
      assert.equal(fake.grantsIssued(), 0);
    });

    it('unknown or empty client id -> 500 unknown_error; missing client_id -> 400 invalid_request', async () => {
      const unknown = await postToken(fake, form({ ...CC_GRANT, client_id: 'ghost' }), FORM);
      assert.equal(unknown.res.status, 500);
      assert.equal(unknown.res.headers.get('connection'), 'close');
      assert.deepEqual(JSON.parse(unknown.text), {
        error: 'unknown_error',
        error_description: 'OAuth2Clients module with id ghost is not found',
        message: 'OAuth2Clients module with id ghost is not found',
      });
      const empty = await postToken(fake, form({ ...CC_GRANT, client_id: '' }), FORM);
      assert.equal(empty.res.status, 500);
      assert.equal((JSON.parse(empty.text) as OAuthErrorBody).message, 'Module id is empty when trying to get OAuth2Clients');

      const missing = await postToken(fake, form({ grant_type: 'client_credentials', client_secret: 'x' }), FORM);
      assert.equal(missing.res.status, 400);
      assert.deepEqual(JSON.parse(missing.text), {
        error: 'invalid_request',
        error_description:
          'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.',
        hint: 'Check the `client_id` parameter',
        message:
          'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.',
      });
    });

    it('password grant failures: wrong password -> 500 echoing it (fidelity), unknown user -> 500, missing/non-string -> 400', async () => {
      const wrong = await postToken(fake, form({ ...PW_GRANT, password: 'Wr0ng-P4ss!' }), FORM);
      assert.equal(wrong.res.status, 500);
      const body = JSON.parse(wrong.text) as OAuthErrorBody;
      assert.equal(body.error, 'unknown_error');
      assert.equal(body.message, 'The password is invalid: Wr0ng-P4ss!');

      const unknown = await postToken(fake, form({ ...PW_GRANT, username: 'nobody' }), FORM);
      assert.equal(unknown.res.status, 500);
      assert.equal((JSON.parse(unknown.text) as OAuthErrorBody).message, 'No user found with this username: nobody');

      const { password: _omit, ...noPassword } = PW_GRANT;
      const missing = await postToken(fake, form(noPassword), FORM);
      assert.equal(missing.res.status, 400);
      assert.equal((JSON.parse(missing.text) as OAuthErrorBody).hint, 'Check the `password` parameter');

      const numeric = await postToken(fake, JSON.stringify({ ...PW_GRANT, password: 1234 }), 'application/json');
      assert.equal(numeric.res.status, 400);
      assert.equal((JSON.parse(numeric.text) as OAuthErrorBody).hint, 'Check the `password` parameter');
      assert.equal(fake.grantsIssued(), 0);
    });

    it('non-empty scope -> 400 invalid_scope; empty scope is fine', async () => {
      const { res, text } = await postToken(fake, form({ ...CC_GRANT, scope: 'read write' }), FORM);
      assert.equal(res.status, 400);
      const body = JSON.parse(text) as OAuthErrorBody;
      assert.equal(body.error, 'invalid_scope');
      assert.equal(body.hint, 'Check the `read` scope');
      await grant(fake, { ...CC_GRANT, scope: '' });
    });

    it('refresh rotates: new pair works, old refresh -> 401 "Token has been revoked", old access -> 401 revoked', async () => {
      const first = await grant(fake, PW_GRANT);
      const second = await grant(fake, { grant_type: 'refresh_token', ...PW, refresh_token: first.refresh_token ?? '' });
      assert.match(second.refresh_token ?? '', /^def50200/);
      assert.notEqual(second.access_token, first.access_token);
      assert.equal((await v8(fake, '/module/Accounts', second.access_token)).res.status, 200);

      const reuse = await postToken(fake, form({ grant_type: 'refresh_token', ...PW, refresh_token: first.refresh_token ?? '' }), FORM);
      assert.equal(reuse.res.status, 401);
      const body = JSON.parse(reuse.text) as OAuthErrorBody;
      assert.equal(body.error, 'invalid_request');
      assert.equal(body.message, 'The refresh token is invalid.');
      assert.equal(body.hint, 'Token has been revoked');

      const old = await v8(fake, '/module/Accounts', first.access_token);
      assert.equal(old.res.status, 401);
      assert.equal((JSON.parse(old.text) as OAuthErrorBody).hint, 'Access token has been revoked');
      assert.equal(fake.grantsIssued('refresh_token'), 1);
      assert.equal(fake.tokenRequestCount('refresh_token'), 2);
    });

    it('refresh with garbage, a foreign client, or no token is refused with league hints', async () => {
      const garbage = await postToken(fake, form({ grant_type: 'refresh_token', ...PW, refresh_token: 'def50200abcdef' }), FORM);
      assert.equal(garbage.res.status, 401);
      assert.equal((JSON.parse(garbage.text) as OAuthErrorBody).hint, 'Cannot decrypt the refresh token');

      const issued = await grant(fake, PW_GRANT);
      const foreign = await postToken(
        fake,
        form({ grant_type: 'refresh_token', client_id: 'pw-client-2', client_secret: 'other-secret', refresh_token: issued.refresh_token ?? '' }),
        FORM,
      );
      assert.equal(foreign.res.status, 401);
      assert.equal((JSON.parse(foreign.text) as OAuthErrorBody).hint, 'Token is not linked to client');

      const missing = await postToken(fake, form({ grant_type: 'refresh_token', ...PW }), FORM);
      assert.equal(missing.res.status, 400);
      assert.equal((JSON.parse(missing.text) as OAuthErrorBody).hint, 'Check the `refresh_token` parameter');
    });

    it('refreshInvalidClientBug: every refresh -> 401 invalid_client (7.13.3-7.14.4)', async () => {
      const issued = await grant(fake, PW_GRANT);
      fake.faults.refreshInvalidClientBug = true;
      const { res, text } = await postToken(fake, form({ grant_type: 'refresh_token', ...PW, refresh_token: issued.refresh_token ?? '' }), FORM);
      assert.equal(res.status, 401);
      assert.equal((JSON.parse(text) as OAuthErrorBody).error, 'invalid_client');
      fake.faults.refreshInvalidClientBug = false;
      await grant(fake, { grant_type: 'refresh_token', ...PW, refresh_token: issued.refresh_token ?? '' });
    });

    it('answers on /legacy/Api and index.php paths; trailing slash 404, GET 405, OPTIONS 200', async () => {
      for (const path of ['/legacy/Api/access_token', '/Api/index.php/access_token', '/legacy/Api/index.php/access_token']) {
        assert.equal((await postToken(fake, form(CC_GRANT), FORM, {}, path)).res.status, 200, path);
      }
      assert.equal((await postToken(fake, form(CC_GRANT), FORM, {}, '/Api/access_token/')).res.status, 404);
      assert.equal((await postToken(fake, form(CC_GRANT), FORM, {}, '/api/access_token')).res.status, 404);
      const get = await send(fake, '/Api/access_token', { headers: { accept: 'application/json' } });
      assert.equal(get.res.status, 405);
      assert.equal(get.res.headers.get('allow'), 'POST');
      assert.deepEqual(JSON.parse(get.text), { message: 'Method not allowed. Must be one of: POST' });
      const options = await send(fake, '/Api/access_token', { method: 'OPTIONS' });
      assert.equal(options.res.status, 200);
      assert.equal(options.text, 'Allowed methods: POST');
      assert.equal(fake.tokenRequestCount(), 3);
    });

    it('records token requests with secrets redacted, and counts them by grant', async () => {
      await grant(fake, PW_GRANT);
      await postToken(fake, form({ ...PW_GRANT, password: 'Wr0ng-P4ss!' }), FORM);
      await grant(fake, CC_GRANT);
      assert.equal(fake.tokenRequestCount(), 3);
      assert.equal(fake.tokenRequestCount('password'), 2);
      assert.equal(fake.grantsIssued('password'), 1);
      assert.equal(fake.grantsIssued(), 2);
      assert.deepEqual(fake.tokenRequests[1], {
        grant: 'password',
        status: 500,
        contentType: FORM,
        body: { grant_type: 'password', client_id: 'pw-client', client_secret: '***', username: 'admin', password: '***' },
      });
      const dump = JSON.stringify(fake.tokenRequests);
      for (const secret of ['Wr0ng-P4ss!', ADMIN.password, PW.client_secret, CC.client_secret]) assert.ok(!dump.includes(secret), secret);
      assert.equal(fake.requests.length, 0, 'token requests are not V8 requests');
    });
  });

  describe('V8 resource server', () => {
    it('401 access_denied hints per failure; application/json, no WWW-Authenticate', async () => {
      const good = (await grant(fake, CC_GRANT)).access_token;
      const [h, c, s = ''] = good.split('.');
      const tampered = `${h}.${c}.${s.slice(0, -4)}${s.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      const cases: Array<[string, Record<string, string>, RegExp]> = [
        ['missing header', {}, /^Missing "Authorization" header$/],
        ['garbage', { authorization: 'Bearer garbage' }, /^The JWT string must have two dots$/],
        ['empty header', { authorization: '' }, /^The JWT string must have two dots$/],
        ['Basic', { authorization: basic('cc-client', 'x') }, /^The JWT string must have two dots$/],
        ['lowercase bearer', { authorization: `bearer ${good}` }, /two dots|Base64Url|JSON/],
        ['bad base64', { authorization: 'Bearer a!.b.c' }, /^Error while decoding from Base64Url/],
        ['bad signature', { authorization: `Bearer ${tampered}` }, /^Access token could not be verified$/],
      ];
      for (const [name, headers, hint] of cases) {
        const { res, text } = await send(fake, '/Api/V8/module/Accounts', { headers });
        assert.equal(res.status, 401, name);
        const body = JSON.parse(text) as OAuthErrorBody;
        assert.deepEqual(Object.keys(body), ['error', 'error_description', 'hint', 'message'], name);
        assert.equal(body.error, 'access_denied');
        assert.equal(body.message, 'The resource owner or authorization server denied the request.');
        assert.match(body.hint ?? '', hint, name);
        assert.equal(res.headers.get('www-authenticate'), null, name);
        assert.equal(res.headers.get('content-type'), 'application/json', name);
      }
      assert.equal((await v8(fake, '/module/Accounts', good)).res.status, 200);
      fake.revokeAccessToken(good);
      const revoked = await v8(fake, '/module/Accounts', good);
      assert.equal(revoked.res.status, 401);
      assert.equal((JSON.parse(revoked.text) as OAuthErrorBody).hint, 'Access token has been revoked');
      assert.equal(fake.isTokenValid(good), false);
    });

    it('CRUD round trip with SuiteCRM statuses (201 for create and update)', async () => {
      const token = (await grant(fake, PW_GRANT)).access_token;
      const created = await v8(fake, '/module', token, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'Accounts', attributes: { name: 'Test Ltd' } } }),
      });
      assert.equal(created.res.status, 201, created.text);
      assert.equal(created.res.headers.get('content-type'), 'application/vnd.api+json');
      assert.equal(created.res.headers.get('accept'), 'application/vnd.api+json');
      assert.equal(created.res.headers.get('content-length'), null);
      assertCors(created.res);
      const record = (JSON.parse(created.text) as { data: { type: string; id: string; attributes: Record<string, unknown> } }).data;
      assert.equal(record.type, 'Account');
      assert.equal(record.attributes['name'], 'Test Ltd');

      const fetched = await v8(fake, `/module/Accounts/${record.id}`, token);
      assert.equal(fetched.res.status, 200);
      assert.equal((JSON.parse(fetched.text) as { data: { id: string } }).data.id, record.id);

      const updated = await v8(fake, '/module', token, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: { type: 'Accounts', id: record.id, attributes: { name: 'Renamed' } } }),
      });
      assert.equal(updated.res.status, 201, updated.text);
      assert.equal((JSON.parse(updated.text) as { data: { attributes: { name: string } } }).data.attributes.name, 'Renamed');

      const list = await v8(fake, '/module/Accounts?page[size]=2&page[number]=2', token);
      assert.equal(list.res.status, 200);
      const page = JSON.parse(list.text) as { meta: Record<string, number>; data: unknown[] };
      assert.deepEqual(page.meta, { 'total-pages': 2, 'records-on-this-page': 2 });

      const deleted = await v8(fake, `/module/Accounts/${record.id}`, token, { method: 'DELETE' });
      assert.equal(deleted.res.status, 200);
      assert.deepEqual(JSON.parse(deleted.text), { meta: { message: `Record with id ${record.id} is deleted` }, data: [] });

      const gone = await v8(fake, `/module/Accounts/${record.id}`, token);
      assert.equal(gone.res.status, 400);
      assert.equal(gone.res.headers.get('content-type'), 'application/vnd.api+json');
      assert.equal((JSON.parse(gone.text) as V8ErrorBody).errors.detail, `Accounts module with id ${record.id} is not found`);
    });

    it('parameter errors: unknown query key, unparsed body, bad id -> 400 V8 error documents', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      const extra = await v8(fake, '/module/Accounts?x=1', token);
      assert.equal(extra.res.status, 400);
      assert.equal(extra.res.headers.get('content-type'), 'application/json');
      assert.equal(extra.res.headers.get('connection'), 'close');
      assert.deepEqual(JSON.parse(extra.text), {
        errors: {
          status: 400,
          title: null,
          detail: 'The option "x" does not exist. Defined options are: "fields", "filter", "moduleName", "page", "sort".',
        },
      });
      const plain = await v8(fake, '/module', token, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ data: { type: 'Accounts', attributes: {} } }),
      });
      assert.equal(plain.res.status, 400);
      assert.equal((JSON.parse(plain.text) as V8ErrorBody).errors.detail, 'The required option "data" is missing.');
      const badId = await v8(fake, '/module/Accounts/not-an-id', token);
      assert.equal(badId.res.status, 400);
      assert.equal((JSON.parse(badId.text) as V8ErrorBody).errors.detail, 'The option "id" with value "not-an-id" is invalid.');
      const seeded = await v8(fake, `/module/Accounts/${SEED_ACCOUNT_IDS[0]}?fields[Accounts]=name`, token);
      assert.deepEqual((JSON.parse(seeded.text) as { data: { attributes: unknown } }).data.attributes, { name: 'Acme Corporation' });
    });

    it('logout revokes the access token and its refresh token', async () => {
      const tokens = await grant(fake, PW_GRANT);
      const out = await v8(fake, '/logout', tokens.access_token, { method: 'POST' });
      assert.equal(out.res.status, 200);
      assert.deepEqual(JSON.parse(out.text), { meta: { message: 'You have been successfully logged out' }, data: [] });
      const after = await v8(fake, '/module/Accounts', tokens.access_token);
      assert.equal((JSON.parse(after.text) as OAuthErrorBody).hint, 'Access token has been revoked');
      const refresh = await postToken(fake, form({ grant_type: 'refresh_token', ...PW, refresh_token: tokens.refresh_token ?? '' }), FORM);
      assert.equal(refresh.res.status, 401);
      assert.equal((JSON.parse(refresh.text) as OAuthErrorBody).hint, 'Token has been revoked');
    });

    it('current-user and meta/modules answer for a valid token', async () => {
      const token = (await grant(fake, PW_GRANT)).access_token;
      const me = await v8(fake, '/current-user', token);
      assert.equal(me.res.status, 200);
      assert.equal((JSON.parse(me.text) as { data: { attributes: { user_name: string } } }).data.attributes.user_name, 'admin');
      const meta = await v8(fake, '/meta/modules?anything=ignored', token);
      assert.equal(meta.res.status, 200);
      assert.ok('Accounts' in (JSON.parse(meta.text) as { data: { attributes: object } }).data.attributes);
    });

    it('custom echo hashes a 5 MB body while streaming; the record matches', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      const payload = randomBytes(5 * 1024 * 1024);
      const { res, text } = await v8(fake, '/custom/echo?x=1', token, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: payload,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(text), {
        method: 'PUT',
        path: '/Api/V8/custom/echo?x=1',
        bodyLength: payload.length,
        bodySha256: sha256(payload),
        contentType: 'application/octet-stream',
      });
      const record = fake.requests.at(-1);
      assert.equal(record?.bodyLength, payload.length);
      assert.equal(record?.bodySha256, sha256(payload));
    });

    it('custom redirect is a bare 302; custom big streams exactly N bytes', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      const redirect = await v8(fake, '/custom/redirect', token);
      assert.equal(redirect.res.status, 302);
      assert.equal(redirect.res.headers.get('location'), '/Api/V8/meta/modules');
      const n = 1_000_003;
      const res = await fetch(`${fake.url}/Api/V8/custom/big?bytes=${n}`, { headers: { authorization: `Bearer ${token}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200);
      assert.equal(bytes.length, n);
      assert.equal(sha256(bytes), sha256(Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff))));
    });

    it('unknown path -> Slim 404 (JSON when asked), wrong method -> 405, OPTIONS -> 200 without a token', async () => {
      const json = await send(fake, '/Api/V8/nothing-here', { headers: { accept: 'application/json' } });
      assert.equal(json.res.status, 404);
      assert.deepEqual(JSON.parse(json.text), { message: 'Not found' });
      assertCors(json.res);
      const html = await send(fake, '/Api/V8/nothing-here');
      assert.equal(html.res.status, 404);
      assert.match(html.res.headers.get('content-type') ?? '', /^text\/html/);
      const put = await send(fake, '/Api/V8/module', { method: 'PUT' });
      assert.equal(put.res.status, 405);
      assert.equal(put.res.headers.get('allow'), 'POST, PATCH');
      const options = await send(fake, '/Api/V8/module', { method: 'OPTIONS' });
      assert.equal(options.res.status, 200);
      assert.equal(options.res.headers.get('content-type'), 'text/plain');
      assert.equal(options.text, 'Allowed methods: POST, PATCH');
    });

    it('records every V8 request: path with query, unredacted headers, token jti, status, applied', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      const jti = jwtParts(token).claims['jti'];
      await v8(fake, '/module/Accounts?page[size]=1', token);
      await v8(fake, '/module/Accounts', undefined);
      await v8(fake, '/module', token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":{"type":"Accounts"}}' });
      assert.equal(fake.requests.length, 3);
      const [read, denied, write] = fake.requests;
      assert.deepEqual(
        { seq: read?.seq, method: read?.method, path: read?.path, status: read?.status, applied: read?.applied, jti: read?.tokenJti },
        { seq: 1, method: 'GET', path: '/Api/V8/module/Accounts?page[size]=1', status: 200, applied: true, jti },
      );
      assert.equal(read?.headers['authorization'], `Bearer ${token}`);
      assert.deepEqual({ status: denied?.status, applied: denied?.applied, jti: denied?.tokenJti }, { status: 401, applied: false, jti: undefined });
      assert.equal(write?.status, 201);
      assert.equal(write?.bodyLength, 28);
      assert.equal(write?.bodySha256, sha256('{"data":{"type":"Accounts"}}'));
    });

    it('rejectAllTokens: valid tokens get 401 "has been revoked" while set', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      fake.faults.rejectAllTokens = true;
      const denied = await v8(fake, '/module/Accounts', token);
      assert.equal(denied.res.status, 401);
      assert.equal((JSON.parse(denied.text) as OAuthErrorBody).hint, 'Access token has been revoked');
      fake.faults.rejectAllTokens = false;
      assert.equal((await v8(fake, '/module/Accounts', token)).res.status, 200);
    });

    it('clockSkewSeconds makes tokens die early: "could not be verified"', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      fake.faults.clockSkewSeconds = 3590;
      assert.equal((await v8(fake, '/module/Accounts', token)).res.status, 200, 'still 10 s left');
      fake.faults.clockSkewSeconds = 3601;
      const expired = await v8(fake, '/module/Accounts', token);
      assert.equal(expired.res.status, 401);
      assert.equal((JSON.parse(expired.text) as OAuthErrorBody).hint, 'Access token could not be verified');
      assert.equal(fake.isTokenValid(token), false);
      fake.faults.clockSkewSeconds = 0;
      assert.equal(fake.isTokenValid(token), true);
    });

    it('revokeAll kills every access and refresh token; reset() keeps tokens', async () => {
      const tokens = await grant(fake, PW_GRANT);
      fake.faults.api = 'reset';
      fake.reset();
      assert.deepEqual(fake.faults, {});
      assert.equal(fake.tokenRequestCount(), 0);
      assert.equal(fake.grantsIssued(), 0);
      assert.equal(fake.isTokenValid(tokens.access_token), true);
      fake.revokeAll();
      assert.equal(fake.isTokenValid(tokens.access_token), false);
      const refresh = await postToken(fake, form({ grant_type: 'refresh_token', ...PW, refresh_token: tokens.refresh_token ?? '' }), FORM);
      assert.equal((JSON.parse(refresh.text) as OAuthErrorBody).hint, 'Token has been revoked');
    });

    it('revokeAccessToken is an admin revoke: the refresh token still works', async () => {
      const tokens = await grant(fake, PW_GRANT);
      fake.revokeAccessToken(tokens.access_token);
      assert.equal(fake.isTokenValid(tokens.access_token), false);
      const renewed = await grant(fake, { grant_type: 'refresh_token', ...PW, refresh_token: tokens.refresh_token ?? '' });
      assert.equal(fake.isTokenValid(renewed.access_token), true);
    });
  });

  describe('faults', () => {
    it('token endpoint: error500, html500, garbage, bad-gateway-502', async () => {
      fake.faults.tokenEndpoint = 'error500';
      const e500 = await postToken(fake, form(CC_GRANT), FORM);
      assert.equal(e500.res.status, 500);
      assert.equal((JSON.parse(e500.text) as OAuthErrorBody).error, 'unknown_error');

      fake.faults.tokenEndpoint = 'html500';
      const h500 = await postToken(fake, form(CC_GRANT), FORM);
      assert.equal(h500.res.status, 500);
      assert.match(h500.res.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(h500.text, /Internal Server Error/);

      fake.faults.tokenEndpoint = 'garbage';
      const garbage = await postToken(fake, form(CC_GRANT), FORM);
      assert.equal(garbage.res.status, 200);
      assert.equal(garbage.text, '{not json');

      fake.faults.tokenEndpoint = 'bad-gateway-502';
      const bad = await postToken(fake, form(CC_GRANT), FORM);
      assert.equal(bad.res.status, 502);
      assert.match(bad.text, /502 Bad Gateway/);

      assert.equal(fake.grantsIssued(), 0);
      assert.deepEqual(
        fake.tokenRequests.map((t) => t.status),
        [500, 500, 200, 502],
      );
    });

    it('token endpoint: missing and non-numeric expires_in still issue a valid token', async () => {
      fake.faults.tokenEndpoint = 'missing-expires-in';
      const missing = await grant(fake, CC_GRANT);
      assert.equal('expires_in' in missing, false);
      assert.ok(fake.isTokenValid(missing.access_token));
      fake.faults.tokenEndpoint = 'non-numeric-expires-in';
      const soon = await grant(fake, PW_GRANT);
      assert.equal(soon.expires_in, 'soon');
      assert.ok(fake.isTokenValid(soon.access_token));
      assert.equal(fake.grantsIssued(), 2);
    });

    it('token endpoint: reset drops the connection without an answer', async () => {
      fake.faults.tokenEndpoint = 'reset';
      const code = await failure(postToken(fake, form(CC_GRANT), FORM));
      assert.match(code, /UND_ERR_SOCKET|ECONNRESET|EPIPE/);
      assert.equal(fake.tokenRequests[0]?.status, 0);
      assert.equal(fake.grantsIssued(), 0);
    });

    it('token endpoint: slow waits tokenDelayMs, then answers normally; tokenDelayMs alone adds latency', async () => {
      fake.faults.tokenEndpoint = 'slow';
      fake.faults.tokenDelayMs = 300;
      let started = Date.now();
      await grant(fake, CC_GRANT);
      assert.ok(Date.now() - started >= 250, 'slow answered early');
      fake.faults.tokenEndpoint = 'ok';
      started = Date.now();
      await grant(fake, CC_GRANT);
      assert.ok(Date.now() - started >= 250, 'tokenDelayMs ignored');
    });

    it('api reset: socket destroyed before answering, nothing applied', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      fake.faults.api = 'reset';
      const body = JSON.stringify({ data: { type: 'Contacts', attributes: { last_name: 'Never' } } });
      const code = await failure(v8(fake, '/module', token, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
      assert.match(code, /UND_ERR_SOCKET|ECONNRESET|EPIPE/);
      assert.deepEqual({ status: fake.requests[0]?.status, applied: fake.requests[0]?.applied }, { status: 0, applied: false });
      fake.faults.api = 'ok';
      const contacts = await v8(fake, '/module/Contacts', token);
      assert.ok(!contacts.text.includes('Never'));
    });

    it('api hang: never answers (client gives up), then recovers when cleared', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      fake.faults.api = 'hang';
      const name = await failure(v8(fake, '/module/Accounts', token, { signal: AbortSignal.timeout(300) }));
      assert.match(name, /TimeoutError|AbortError/);
      fake.faults.api = 'ok';
      assert.equal((await v8(fake, '/module/Accounts', token)).res.status, 200);
    });

    it('api close-after-response: answers with Connection: close; apiDelayMs delays', async () => {
      const token = (await grant(fake, CC_GRANT)).access_token;
      fake.faults.api = 'close-after-response';
      fake.faults.apiDelayMs = 200;
      const started = Date.now();
      const { res } = await v8(fake, '/module/Accounts', token);
      assert.ok(Date.now() - started >= 150, 'apiDelayMs ignored');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('connection'), 'close');
      assert.equal((await v8(fake, '/module/Accounts', token)).res.status, 200);
    });
  });
});

describe('fake SuiteCRM lifecycle', () => {
  it('stop() refuses connections and keeps state; start() listens on the same port', async () => {
    const fake = await startFakeSuiteCrm();
    try {
      const token = (await grant(fake, CC_GRANT)).access_token;
      const port = fake.port;
      await fake.stop();
      // A keep-alive socket may still look reusable to the client for one try; a fresh one must be refused.
      let code = '';
      for (let attempt = 0; attempt < 5 && code !== 'ECONNREFUSED'; attempt++) {
        code = await failure(fetch(`${fake.url}/Api/V8/module/Accounts`));
        await tick();
      }
      assert.equal(code, 'ECONNREFUSED');
      await fake.start();
      assert.equal(fake.port, port);
      assert.equal(fake.url, `http://127.0.0.1:${port}`);
      assert.equal((await v8(fake, '/module/Accounts', token)).res.status, 200);
      assert.equal(fake.grantsIssued(), 1);
    } finally {
      await fake.close();
    }
  });

  it('close() ends slow token requests and hung API calls at once', async () => {
    const fake = await startFakeSuiteCrm();
    const token = (await grant(fake, CC_GRANT)).access_token;
    fake.faults.tokenEndpoint = 'slow'; // default 10 s
    fake.faults.api = 'hang';
    const slow = failure(postToken(fake, form(CC_GRANT), FORM));
    const hung = failure(v8(fake, '/module/Accounts', token));
    await until('both requests to arrive', () => fake.tokenRequests.length >= 2 && fake.requests.length >= 1, 2000);
    const started = Date.now();
    await fake.close();
    assert.match(await slow, /UND_ERR_SOCKET|ECONNRESET/);
    assert.match(await hung, /UND_ERR_SOCKET|ECONNRESET/);
    assert.ok(Date.now() - started < 2000);
    assert.equal(fake.grantsIssued(), 1, 'the slow request was never answered');
    await assert.rejects(fake.start(), /closed/);
  });
});

describe('fake SuiteCRM options: L5 dialect, custom prefix, short TTL', () => {
  let fake: FakeSuiteCrm;
  before(async () => {
    fake = await startFakeSuiteCrm({ dialect: 'L5', prefixes: ['/crm/legacy/Api'], ttlSeconds: 120 });
  });
  after(() => fake.close());

  const path = '/crm/legacy/Api/access_token';

  it('answers only under the configured prefix, with expires_in = ttlSeconds and L5 JWTs', async () => {
    assert.equal((await postToken(fake, form(CC_GRANT), FORM)).res.status, 404);
    const { res, text } = await postToken(fake, form(CC_GRANT), FORM, {}, path);
    assert.equal(res.status, 200);
    const body = JSON.parse(text) as TokenBody;
    assert.equal(body.expires_in, 120);
    const { header, claims, rawClaims } = jwtParts(body.access_token);
    assert.equal(header['jti'], claims['jti']);
    assert.match(rawClaims, /"iat":\d{10},"nbf":\d{10},"exp":\d{10},/);
    assert.equal(Number(claims['exp']) - Number(claims['iat']), 120);
    const list = await send(fake, '/crm/legacy/Api/index.php/V8/module/Accounts', { headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(list.res.status, 200);
  });

  it('L5 error bodies: error, message, hint; invalid_client always has WWW-Authenticate; refresh errors are 400', async () => {
    const unsupported = await postToken(fake, '{}', 'text/plain', {}, path);
    assert.equal(
      unsupported.text,
      '{"error":"unsupported_grant_type","message":"The authorization grant type is not supported by the authorization server.","hint":"Check the `grant_type` parameter"}',
    );
    const wrong = await postToken(fake, form({ ...CC_GRANT, client_secret: 'nope' }), FORM, {}, path);
    assert.equal(wrong.res.status, 401);
    assert.deepEqual(Object.keys(JSON.parse(wrong.text) as object), ['error', 'message']);
    assert.equal(wrong.res.headers.get('www-authenticate'), 'Basic realm="OAuth"');

    const first = JSON.parse((await postToken(fake, form(PW_GRANT), FORM, {}, path)).text) as TokenBody;
    const refresh = form({ grant_type: 'refresh_token', ...PW, refresh_token: first.refresh_token ?? '' });
    assert.equal((await postToken(fake, refresh, FORM, {}, path)).res.status, 200);
    const reuse = await postToken(fake, refresh, FORM, {}, path);
    assert.equal(reuse.res.status, 400);
    assert.equal((JSON.parse(reuse.text) as OAuthErrorBody).hint, 'Token has been revoked');
  });

  it('L5 expired JWT hint is "Access token is invalid"', async () => {
    const token = (JSON.parse((await postToken(fake, form(CC_GRANT), FORM, {}, path)).text) as TokenBody).access_token;
    fake.faults.clockSkewSeconds = 121;
    const { res, text } = await send(fake, '/crm/legacy/Api/V8/module/Accounts', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(text), {
      error: 'access_denied',
      message: 'The resource owner or authorization server denied the request.',
      hint: 'Access token is invalid',
    });
    fake.faults.clockSkewSeconds = 0;
  });
});

describe('fake SuiteCRM records whose token each request carried', () => {
  const users = [
    { id: 'u-reporter', username: 'reporter', password: 'reporter-P4ss' },
    { id: 'u-invoicer', username: 'invoicer', password: 'invoicer-P4ss' },
  ];
  const clients = [
    { id: 'ro-client', secret: 'ro-secret', grant: 'client_credentials' as const, userId: 'u-reporter' },
    { id: 'inv-client', secret: 'inv-secret', grant: 'password' as const },
  ];
  let fake: FakeSuiteCrm;
  before(async () => {
    fake = await startFakeSuiteCrm({ users, clients });
  });
  after(() => fake.close());

  it('tokenClientId is the JWT aud; tokenUserId the associated user (client_credentials) or the logged-in user (password)', async () => {
    const cc = (await grant(fake, { grant_type: 'client_credentials', client_id: 'ro-client', client_secret: 'ro-secret' })).access_token;
    const pw = (await grant(fake, { grant_type: 'password', client_id: 'inv-client', client_secret: 'inv-secret', username: 'invoicer', password: 'invoicer-P4ss' })).access_token;
    assert.equal(jwtParts(cc).claims['sub'], '', "a client_credentials JWT names no user: the row's user is recorded");
    await v8(fake, '/module/Accounts?as=cc', cc);
    await v8(fake, '/current-user?as=pw', pw);
    await v8(fake, '/module/Accounts?as=none', undefined);
    const seen = fake.requests.map((r) => ({ path: r.path, client: r.tokenClientId, user: r.tokenUserId }));
    assert.deepEqual(seen, [
      { path: '/Api/V8/module/Accounts?as=cc', client: 'ro-client', user: 'u-reporter' },
      { path: '/Api/V8/current-user?as=pw', client: 'inv-client', user: 'u-invoicer' },
      { path: '/Api/V8/module/Accounts?as=none', client: undefined, user: undefined },
    ]);
  });
});

describe('fake SuiteCRM tokenHold: a token endpoint slow for some clients only', () => {
  it('holds the named client until released, while other clients get tokens at once', async () => {
    const fake = await startFakeSuiteCrm();
    try {
      let release = (): void => undefined;
      fake.faults.tokenHold = { clientIds: ['pw-client'], until: new Promise<void>((resolve) => (release = resolve)) };
      const held = postToken(fake, form(PW_GRANT), FORM);
      const isSettled = settledCheck(held);
      await until('the held token request to arrive', () => fake.tokenRequests.some((r) => r.body['client_id'] === 'pw-client'));
      await grant(fake, CC_GRANT);
      assert.equal(isSettled(), false, 'still held after another client got its token');
      release();
      assert.equal((await held).res.status, 200);
      assert.deepEqual([fake.grantsIssued('client_credentials'), fake.grantsIssued('password')], [1, 1]);
    } finally {
      await fake.close();
    }
  });
});
