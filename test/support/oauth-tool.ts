/**
 * A legacy SuiteCRM tool as it exists in the wild: it logs in with a real, unmodified OAuth 2
 * client library (simple-oauth2 with its defaults: HTTP Basic client auth with RFC 6749
 * form-encoded credentials, form bodies), keeps the token, sends it as Bearer to the V8
 * JSON:API and logs out. Only its base URL points at the proxy.
 */
import { ClientCredentials, ResourceOwnerPassword, type AccessToken } from 'simple-oauth2';
import { JSONAPI } from './jsonapi.js';

export interface LegacyToolOptions {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** With a username and password the tool uses the password grant, otherwise client_credentials. */
  readonly username?: string;
  readonly password?: string;
  /** Token path as the tool has it configured (SuiteCRM 7 default). */
  readonly tokenPath?: string;
  readonly apiPrefix?: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: unknown;
}

export class LegacyTool {
  token: AccessToken | undefined;

  constructor(private readonly opts: LegacyToolOptions) {}

  private get config() {
    return {
      client: { id: this.opts.clientId, secret: this.opts.clientSecret },
      auth: { tokenHost: this.opts.baseUrl, tokenPath: this.opts.tokenPath ?? '/Api/access_token' },
    };
  }

  async login(): Promise<AccessToken> {
    const { username, password } = this.opts;
    this.token = username !== undefined && password !== undefined
      ? await new ResourceOwnerPassword(this.config).getToken({ username, password })
      : await new ClientCredentials(this.config).getToken({});
    return this.token;
  }

  async refresh(): Promise<AccessToken> {
    if (this.token === undefined) throw new Error('not logged in');
    this.token = await this.token.refresh();
    return this.token;
  }

  get accessToken(): string {
    const value = this.token?.token.access_token;
    if (typeof value !== 'string') throw new Error('not logged in');
    return value;
  }

  async api(method: string, path: string, body?: unknown, accessToken = this.accessToken): Promise<ApiResponse> {
    const res = await fetch(`${this.opts.baseUrl}${this.opts.apiPrefix ?? '/Api'}${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, accept: JSONAPI, ...(body === undefined ? {} : { 'content-type': JSONAPI }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: res.status, contentType: res.headers.get('content-type'), body: parsed };
  }

  async logout(): Promise<ApiResponse> {
    return this.api('POST', '/V8/logout');
  }
}
