/**
 * The local token endpoint's decisions, in league 8's order as SuiteCRM wires it: client
 * (unknown → 500 unknown_error, wrong secret or grant → 401 invalid_client), then the grant's own
 * parameters, then scope. Nothing here talks to SuiteCRM: a legacy tool's login costs no
 * SuiteCRM grant and can never return or revoke the shared SuiteCRM token.
 */
import { OAuthClientRegistry, type OAuthCaller } from './credentials.js';
import type { LocalSession, LocalTokenStore, IssuedSession } from './local-tokens.js';
import { oauthErrors, OAuthError } from './responses.js';
import { checkScope, parseTokenRequest, stringParameter, type ClientCredentials, type LocalGrantType, type ParsedTokenRequest, type RawTokenRequest } from './token-request.js';

export type TokenEndpointResult =
  | { readonly ok: true; readonly caller: string; readonly grantType: LocalGrantType; readonly issued: IssuedSession }
  | { readonly ok: false; readonly error: OAuthError; readonly caller: string | undefined; readonly grantType: LocalGrantType | undefined };

/** SuiteCRM's `BeanManager::getBeanSafe` messages for a client id that names no client. */
function unknownClient(clientId: unknown): OAuthError {
  if (clientId === '') return oauthErrors.unknownError('Module id is empty when trying to get OAuth2Clients');
  const shown = typeof clientId === 'string' || typeof clientId === 'number' || typeof clientId === 'boolean' ? String(clientId) : 'Array';
  return oauthErrors.unknownError(`OAuth2Clients module with id ${shown} is not found`);
}

export class LocalTokenEndpoint {
  constructor(
    private readonly clients: OAuthClientRegistry,
    private readonly tokens: LocalTokenStore,
  ) {}

  /** `validateClient` for one set of presented credentials. */
  private client(credentials: ClientCredentials, grantType: LocalGrantType): OAuthCaller {
    const caller = typeof credentials.clientId === 'string' ? this.clients.find(credentials.clientId) : undefined;
    if (caller === undefined) throw unknownClient(credentials.clientId);
    const secretOk = OAuthClientRegistry.secretMatches(caller, credentials.clientSecret);
    // Like a SuiteCRM client_credentials client asked for the password grant.
    const grantOk = grantType !== 'password' || caller.oauth.username !== undefined;
    if (!secretOk || !grantOk) throw oauthErrors.invalidClient();
    return caller;
  }

  /** Tries the credentials as sent, then their form-decoded Basic form; the first failure is the one reported. */
  private authenticateClient(request: ParsedTokenRequest): OAuthCaller {
    let firstError: unknown;
    for (const credentials of request.credentials) {
      try {
        return this.client(credentials, request.grantType);
      } catch (err) {
        firstError ??= err;
      }
    }
    throw firstError;
  }

  private grant(request: ParsedTokenRequest, caller: OAuthCaller): IssuedSession {
    const { params } = request;
    switch (request.grantType) {
      case 'client_credentials':
        checkScope(params);
        return this.tokens.issue(caller.name, false);
      case 'password': {
        checkScope(params);
        const username = stringParameter(params, 'username');
        const password = stringParameter(params, 'password');
        if (!OAuthClientRegistry.usernameMatches(caller, username)) {
          throw oauthErrors.unknownError(`No user found with this username: ${username}`);
        }
        // SuiteCRM appends the submitted password to this message; the proxy never does.
        if (!OAuthClientRegistry.passwordMatches(caller, password)) throw oauthErrors.unknownError('The password is invalid');
        return this.tokens.issue(caller.name, true);
      }
      case 'refresh_token': {
        const session: LocalSession = this.tokens.sessionForRefresh(stringParameter(params, 'refresh_token'), caller.name);
        checkScope(params);
        return this.tokens.rotate(session);
      }
    }
  }

  async respond(raw: RawTokenRequest): Promise<TokenEndpointResult> {
    let request: ParsedTokenRequest | undefined;
    let caller: OAuthCaller | undefined;
    try {
      request = await parseTokenRequest(raw);
      caller = this.authenticateClient(request);
      return { ok: true, caller: caller.name, grantType: request.grantType, issued: this.grant(request, caller) };
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      return { ok: false, error: err, caller: caller?.name, grantType: request?.grantType };
    }
  }
}
