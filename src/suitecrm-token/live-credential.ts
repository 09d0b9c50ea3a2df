/**
 * The settings one TokenManager requests tokens with: the shared settings and one credential. Its secrets (client secret, password) and
 * request options may be replaced while it runs: a rotated secret is used from the next token
 * request, and the token in hand stays in use until then. Settings that name another token
 * (client id, user, grant) get a TokenManager of their own instead (src/reload/credential-switch.ts).
 */
import type { Dispatcher } from 'undici';
import type { CredentialConfig } from '../config/load.js';
import { requestToken, TokenRequestError, type GrantRequest, type Token } from './grant.js';

export class LiveCredential {
  /**
   * Set while this credential's manager is the one in use: re-reads the secret files (a whole
   * reload) after SuiteCRM rejected the credentials. Unset while a new manager warms up, so a
   * rejection during a reload cannot wait for that same reload.
   */
  reread: (() => Promise<void>) | undefined;

  constructor(private settings: CredentialConfig) {}

  get current(): CredentialConfig {
    return this.settings;
  }

  /** New secrets and request options for the same credential. */
  update(settings: CredentialConfig): void {
    this.settings = settings;
  }
}

/**
 * One token request with the credential's current settings. When SuiteCRM rejects them, the
 * secret files are read again once and, if that changed the settings, the request is retried
 * with them: a rotation that raced the renewal heals at once instead of after the back-off.
 */
export async function requestWithReread(credential: LiveCredential, endpoint: URL, dispatcher: Dispatcher, request: GrantRequest, now?: () => number): Promise<Token> {
  const used = credential.current;
  try {
    return await requestToken(used, endpoint, dispatcher, request, now);
  } catch (err) {
    const reread = credential.reread;
    if (!(err instanceof TokenRequestError) || err.failureClass !== 'rejected' || reread === undefined) throw err;
    try {
      await reread();
    } catch {
      // A failed re-read is logged by the reload; the rejection stands.
    }
    if (credential.current === used) throw err;
    return requestToken(credential.current, endpoint, dispatcher, request, now);
  }
}
