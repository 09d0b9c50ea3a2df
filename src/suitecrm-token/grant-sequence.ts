/**
 * The requests one renewal sends to SuiteCRM: the refresh grant first while a refresh token is
 * held (the next one after a rejected one, then the configured grant), one quick retry after a
 * fast transient failure, and every request counted (hooks) and logged when it fails.
 */
import type { Logger } from 'pino';
import type { GrantType } from '../config/settings.js';
import type { SuiteCrmCredential } from '../config/suitecrm-credentials.js';
import { asCredentialError, TokenRequestError, type GrantRequest } from './grant.js';
import type { RefreshTokens } from './refresh-tokens.js';
import type { RenewalPolicy } from './renewal-policy.js';
import type { RenewReason, Token, TokenHooks } from './token.js';

export type TokenFetcher = (request: GrantRequest) => Promise<Token>;

export interface GrantSequenceOptions {
  readonly grantType: GrantType;
  readonly fetchToken: TokenFetcher;
  /** The credential's name, for error details that say which credential failed. */
  readonly credential?: Pick<SuiteCrmCredential, 'name' | 'fromSettings'>;
  readonly hooks?: Partial<TokenHooks>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class GrantSequence {
  constructor(
    private readonly opts: GrantSequenceOptions,
    private readonly refreshTokens: RefreshTokens,
    private readonly policy: RenewalPolicy,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  /** One renewal; `newestRefreshToken` is the shared store's, when it has one. */
  async run(reason: RenewReason, newestRefreshToken: string | undefined): Promise<Token> {
    this.refreshTokens.startRenewal(newestRefreshToken);
    const started = this.now();
    try {
      return await this.grantOnce(reason);
    } catch (err) {
      const quickRetryMs = this.policy.quickRetryDelay(err, started);
      if (quickRetryMs === undefined) throw err;
      await delay(quickRetryMs);
      return this.grantOnce(reason);
    }
  }

  /** Refresh grant first when we hold a refresh token, then the configured grant. */
  private async grantOnce(reason: RenewReason): Promise<Token> {
    const refreshToken = this.refreshTokens.next;
    if (refreshToken !== undefined) {
      try {
        return await this.request({ grant: 'refresh_token', refreshToken }, reason);
      } catch (err) {
        if (!(err instanceof TokenRequestError) || err.failureClass !== 'refresh_rejected') throw err;
        this.refreshTokens.rejected();
        if (this.refreshTokens.next !== undefined) return this.grantOnce(reason);
        if (this.opts.grantType === 'refresh_token') {
          throw asCredentialError(new TokenRequestError('rejected', err.reason,
            'SuiteCRM rejected the refresh token and the refresh_token grant has nothing to fall back to; supply a new SUITECRM_REFRESH_TOKEN or use SUITECRM_GRANT_TYPE=password', err.status), this.opts.credential);
        }
      }
    }
    return this.request({ grant: this.opts.grantType }, reason);
  }

  private async request(request: GrantRequest, reason: RenewReason): Promise<Token> {
    const started = this.now();
    try {
      const token = await this.opts.fetchToken(request);
      this.opts.hooks?.tokenRequest?.(request.grant, 'success', this.now() - started);
      return token;
    } catch (raw) {
      const err = asCredentialError(raw, this.opts.credential);
      const failureClass = err instanceof TokenRequestError ? err.failureClass : 'transient';
      this.opts.hooks?.tokenRequest?.(request.grant, failureClass, this.now() - started);
      this.log.warn({
        event: 'token_request_failed', grant: request.grant, reason, failureClass,
        cause: err instanceof TokenRequestError ? err.reason : 'unexpected',
        status: err instanceof TokenRequestError ? err.status : undefined,
      }, err instanceof TokenRequestError ? err.detail : 'token request failed unexpectedly');
      throw err;
    }
  }
}
