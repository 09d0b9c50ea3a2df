/**
 * A tool at the proxy's own token endpoint over plain HTTP, for the tests that run several proxy
 * processes: log in, call the API with the local token, refresh, log out. Every request is on a
 * new connection (`reset`), so behind PROXY_WORKERS consecutive requests land on different workers.
 */
import assert from 'node:assert/strict';
import { request } from 'undici';

export interface OAuthTool {
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username?: string;
  readonly password?: string;
}

export interface TokenAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

export async function tokenRequest(baseUrl: string, params: Record<string, string>): Promise<TokenAnswer> {
  const res = await request(`${baseUrl}/Api/access_token`, {
    method: 'POST', reset: true, headersTimeout: 30_000, bodyTimeout: 30_000,
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString(),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

/** The tool's login (the password grant when it has a user), asserted to succeed. */
export async function login(baseUrl: string, tool: OAuthTool): Promise<{ access: string; refresh: string | undefined }> {
  const params: Record<string, string> = tool.username === undefined || tool.password === undefined
    ? { grant_type: 'client_credentials', client_id: tool.clientId, client_secret: tool.clientSecret }
    : { grant_type: 'password', client_id: tool.clientId, client_secret: tool.clientSecret, username: tool.username, password: tool.password };
  const answer = await tokenRequest(baseUrl, params);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  const refresh = answer.json.refresh_token;
  return { access: String(answer.json.access_token), refresh: typeof refresh === 'string' ? refresh : undefined };
}

export function refresh(baseUrl: string, tool: OAuthTool, refreshToken: string): Promise<TokenAnswer> {
  return tokenRequest(baseUrl, { grant_type: 'refresh_token', client_id: tool.clientId, client_secret: tool.clientSecret, refresh_token: refreshToken });
}

/** An API call with a local token: its status (0 when the connection failed). */
export async function call(baseUrl: string, token: string, path = '/Api/V8/module/Accounts', method: 'GET' | 'POST' = 'GET'): Promise<number> {
  try {
    const res = await request(`${baseUrl}${path}`, { method, reset: true, headers: { authorization: `Bearer ${token}` }, headersTimeout: 30_000, bodyTimeout: 30_000 });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

/** The local logout (never forwarded): its status. */
export function logout(baseUrl: string, token: string): Promise<number> {
  return call(baseUrl, token, '/Api/V8/logout', 'POST');
}
