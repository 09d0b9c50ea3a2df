/**
 * The local token endpoint's decisions, in league 8's order as SuiteCRM wires it: client
 * (unknown → 500 unknown_error, wrong secret or a grant the caller is not set up for → 401
 * invalid_client), then the caller's rate limit, then the grant's own parameters, then scope.
 * Nothing here talks to SuiteCRM: a legacy tool's login costs no SuiteCRM grant and can never
 * return or revoke the shared SuiteCRM token.
 */
import { OAuthClientRegistry, type OAuthCaller } from './client-registry.js';
import type { LocalSessions, IssuedSession } from './local-sessions.js';
import { oauthErrors, OAuthError } from './responses.js';
import { checkScope, parseTokenRequest, scopeError, stringParameter, type ClientCredentials, type LocalGrantType, type ParsedTokenRequest, type RawTokenRequest } from './token-request.js';

/** A token request that parsed, and whom it claims to be from. */
export interface TokenAttempt {
  readonly request: ParsedTokenRequest;
  /** The caller its client id names, before any secret is checked: for logs and metrics, never for access. */
  readonly named: OAuthCaller | undefined;
  /** The client id as sent: the failed-login throttle's key. */
  readonly clientId: unknown;
}

export type TokenEndpointResult =
  | { readonly ok: true; readonly caller: string; readonly grantType: LocalGrantType; readonly issued: IssuedSession }
  | {
    readonly ok: false;
    readonly error: OAuthError;
    /** Set once the client authenticated. */
    readonly caller: string | undefined;
    /** The caller the client id names, authenticated or not. */
    readonly named: string | undefined;
    readonly grantType: LocalGrantType | undefined;
  };

/** Counts a login against the caller's rate limit; an error (429) when it is over. */
export type LoginAdmission = (caller: OAuthCaller) => Promise<OAuthError | undefined>;

/** SuiteCRM's `BeanManager::getBeanSafe` messages for a client id that names no client. */
function unknownClient(clientId: unknown): OAuthError {
  if (clientId === '') return oauthErrors.unknownError('Module id is empty when trying to get OAuth2Clients');
  const shown = typeof clientId === 'string' || typeof clientId === 'number' || typeof clientId === 'boolean' ? String(clientId) : 'Array';
  return oauthErrors.unknownError(`OAuth2Clients module with id ${shown} is not found`);
}

export class LocalTokenEndpoint {
  constructor(
    private readonly clients: OAuthClientRegistry,
    private readonly tokens: LocalSessions,
  ) {}

  private find(clientId: unknown): OAuthCaller | undefined {
    return typeof clientId === 'string' ? this.clients.find(clientId) : undefined;
  }

  /** `validateClient` for one set of presented credentials. */
  private client(credentials: ClientCredentials, grantType: LocalGrantType): OAuthCaller {
    const { clientSecret } = credentials;
    if (clientSecret !== undefined && typeof clientSecret !== 'string') throw oauthErrors.invalidRequest('client_secret');
    const caller = this.find(credentials.clientId);
    if (caller === undefined) throw unknownClient(credentials.clientId);
    const secretOk = OAuthClientRegistry.secretMatches(caller, clientSecret);
    // Like a SuiteCRM client asked for a grant other than its allowed_grant_type.
    if (!secretOk || !caller.oauth.grants.has(grantType)) throw oauthErrors.invalidClient();
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

  private async grant(request: ParsedTokenRequest, caller: OAuthCaller): Promise<IssuedSession> {
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
        // league checks the refresh token before the scope: a bad scope leaves a good token unspent.
        const refreshToken = stringParameter(params, 'refresh_token');
        const badScope = scopeError(params);
        const issued = await this.tokens.refresh(refreshToken, caller.name, badScope === undefined);
        if (badScope !== undefined) throw badScope;
        return issued as IssuedSession;
      }
    }
  }

  /** Parses a token request (400s in SuiteCRM's dialect come back as the error) and names its caller. */
  async read(raw: RawTokenRequest): Promise<TokenAttempt | OAuthError> {
    let request: ParsedTokenRequest;
    try {
      request = await parseTokenRequest(raw);
    } catch (err) {
      if (err instanceof OAuthError) return err;
      throw err;
    }
    const named = request.credentials.map((c) => this.find(c.clientId)).find((caller) => caller !== undefined);
    return { request, named, clientId: request.credentials[0]?.clientId };
  }

  /** Authenticates the client, counts the login against its rate limit and runs the grant. */
  async answer(attempt: TokenAttempt, admit: LoginAdmission): Promise<TokenEndpointResult> {
    const { request } = attempt;
    let caller: OAuthCaller | undefined;
    try {
      caller = this.authenticateClient(request);
      const refusal = await admit(caller);
      if (refusal !== undefined) throw refusal;
      return { ok: true, caller: caller.name, grantType: request.grantType, issued: await this.grant(request, caller) };
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      return { ok: false, error: err, caller: caller?.name, named: caller?.name ?? attempt.named?.name, grantType: request.grantType };
    }
  }

}
