/**
 * The TokenSource of one SuiteCRM credential in a process that owns its tokens (a single
 * process, or the PROXY_WORKERS primary), delegating to the credential's current TokenManager.
 * A reload that changes only its secrets hands them to the running manager; one that names
 * another client, user or grant builds a new manager, obtains its first token, and only then
 * swaps it in and closes the old one, so callers never wait for a token because of a reload.
 */
import type { CredentialConfig } from '../config/load.js';
import { credentialField } from '../config/suitecrm-credentials.js';
import { LiveCredential } from '../suitecrm-token/live-credential.js';
import type { OwnedTokenManager } from '../suitecrm-token/token-manager-factory.js';
import type { CachedToken, RenewReason, Token, TokenSource, TokenStatus } from '../suitecrm-token/token.js';
import type { CredentialChange } from './diff.js';
import { ReloadApplyError, type PreparedChange } from './target.js';

/**
 * The first token of tokens a reload built, before they are swapped in: tokens that get none are
 * closed and fail the reload with `failure(code)`, so nothing changes.
 */
export async function warmOrFail(tokens: Pick<TokenSource, 'get'> & { close(): Promise<void> }, failure: (code: string) => ReloadApplyError): Promise<void> {
  try {
    await tokens.get('cold');
  } catch (err) {
    await tokens.close();
    throw failure((err as { code?: string }).code ?? 'TOKEN_UNAVAILABLE');
  }
}

/** Builds the manager of one credential; `isCurrent` tells its hooks whether it still serves. */
export type ManagerBuilder = (credential: LiveCredential, isCurrent: () => boolean) => OwnedTokenManager;

export class CredentialSwitch implements TokenSource {
  private credential: LiveCredential;
  private owned: OwnedTokenManager;
  /** Re-reads the configuration after a rejection; set by whoever runs reloads. */
  private reread: (() => Promise<void>) | undefined;

  constructor(config: CredentialConfig, private readonly build: ManagerBuilder) {
    this.credential = new LiveCredential(config);
    const credential = this.credential;
    this.owned = build(credential, () => this.credential === credential);
  }

  /** The manager in use (the primary answers its workers from it). */
  get manager(): OwnedTokenManager['tokens'] {
    return this.owned.tokens;
  }

  /** How a rejection re-reads the secret files; the reloader installs it. */
  onRejectedReread(reread: () => Promise<void>): void {
    this.reread = reread;
    this.credential.reread = reread;
  }

  current(): CachedToken | undefined {
    return this.owned.tokens.current();
  }

  get(reason?: RenewReason): Promise<CachedToken> {
    return this.owned.tokens.get(reason);
  }

  rejected(token: Token): boolean {
    return this.owned.tokens.rejected(token);
  }

  replayRejected(token: Token): number {
    return this.owned.tokens.replayRejected(token);
  }

  accepted(token: Token): void {
    this.owned.tokens.accepted(token);
  }

  /** An operator's SIGHUP: a paused credential is retried once, at once. */
  retryNow(): void {
    this.owned.tokens.retryNow();
  }

  status(): TokenStatus {
    return this.owned.tokens.status();
  }

  /**
   * Prepares this credential's part of a reload (`change`: what the reload does to it, undefined
   * when only shared settings may differ); with a new identity its first token is obtained here.
   */
  async prepare(next: CredentialConfig, change: CredentialChange | undefined): Promise<PreparedChange> {
    // Same identity: new secrets, timeouts and retry settings are read by the running manager.
    if (change !== 'identity') {
      return {
        commit: () => {
          this.credential.update(next);
          // New secrets end the rejection pause of the old ones: the next token request uses them at once.
          if (change === 'secret') this.owned.tokens.credentialsChanged();
        },
        abort: async () => undefined,
      };
    }
    const credential = new LiveCredential(next);
    const owned = this.build(credential, () => this.credential === credential);
    await warmOrFail({ get: (reason) => owned.tokens.get(reason), close: () => owned.close() }, (code) =>
      new ReloadApplyError(credentialField(next, 'clientId'), `the new SuiteCRM credential ${JSON.stringify(next.name)} obtained no token (${code}); the running one stays in use`));
    return {
      commit: () => {
        const old = this.owned;
        this.owned = owned;
        this.credential = credential;
        credential.reread = this.reread;
        // Requests still holding the old token finish with it; only its renewals stop.
        void old.close();
      },
      abort: () => owned.close(),
    };
  }

  close(): Promise<void> {
    return this.owned.close();
  }
}
