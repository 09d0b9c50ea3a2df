/**
 * Which SuiteCRM credentials a configuration has, and that every caller has one: the `default`
 * credential from the SUITECRM_* settings (required, as ever, when SUITECRM_CREDENTIALS is not
 * set), the named ones from SUITECRM_CREDENTIALS, and the check that each caller, the anonymous
 * one included, names a credential that exists.
 */
import { ANONYMOUS_CALLER, type CallerSpec } from './callers.js';
import { SettingError } from './callers-schema.js';
import type { SecurityConfig } from './security-settings.js';
import type { GrantType, SettingName } from './settings.js';
import { CREDENTIALS_SETTING, DEFAULT_CREDENTIAL, parseCredentials, type SuiteCrmCredential } from './suitecrm-credentials.js';
import { ConfigError, required, type FileReader, type Parsed } from './values.js';

/** Settings that, when any is given, make the SUITECRM_* settings describe the `default` credential. */
const DEFAULT_CREDENTIAL_SETTINGS = ['SUITECRM_GRANT_TYPE', 'SUITECRM_CLIENT_ID', 'SUITECRM_CLIENT_SECRET', 'SUITECRM_USERNAME', 'SUITECRM_PASSWORD', 'SUITECRM_REFRESH_TOKEN'] as const;

/** The `default` credential from the SUITECRM_* settings, so a missing one fails now and not at the first token request. */
function fromSettings(p: ReadonlyMap<SettingName, Parsed>): SuiteCrmCredential {
  const grantType = p.get('SUITECRM_GRANT_TYPE') as GrantType;
  const clientId = required(p, 'SUITECRM_CLIENT_ID', 'for every grant');
  const clientSecret = required(p, 'SUITECRM_CLIENT_SECRET', 'for every grant (SuiteCRM checks the secret on all grants)');
  if (grantType === 'password') {
    required(p, 'SUITECRM_USERNAME', 'when SUITECRM_GRANT_TYPE=password');
    required(p, 'SUITECRM_PASSWORD', 'when SUITECRM_GRANT_TYPE=password');
  }
  if (grantType === 'refresh_token') required(p, 'SUITECRM_REFRESH_TOKEN', 'when SUITECRM_GRANT_TYPE=refresh_token');
  return {
    name: DEFAULT_CREDENTIAL, grantType, clientId, clientSecret,
    username: p.get('SUITECRM_USERNAME') as string | undefined,
    password: p.get('SUITECRM_PASSWORD') as string | undefined,
    refreshToken: p.get('SUITECRM_REFRESH_TOKEN') as string | undefined,
    fromSettings: true,
  };
}

/**
 * Every credential, `default` first; throws ConfigError naming the setting (and credential) at
 * fault. `given` tells a setting the user wrote (directly or as <NAME>_FILE) from one filled in by
 * its default: a SUITECRM_GRANT_TYPE of its own makes the SUITECRM_* settings a credential too.
 */
export function credentialSettings(p: ReadonlyMap<SettingName, Parsed>, readFile: FileReader, given: (name: SettingName) => boolean): readonly SuiteCrmCredential[] {
  const text = p.get('SUITECRM_CREDENTIALS') as string | undefined;
  const settingsGiven = DEFAULT_CREDENTIAL_SETTINGS.some(given);
  if (text === undefined) return [fromSettings(p)];
  let named: SuiteCrmCredential[];
  try {
    named = parseCredentials(text, readFile);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(err.setting, err.message);
    throw err;
  }
  if (!settingsGiven) return named;
  if (named.some((c) => c.name === DEFAULT_CREDENTIAL)) {
    throw new ConfigError(CREDENTIALS_SETTING, `credential "${DEFAULT_CREDENTIAL}" is given twice: by the SUITECRM_* settings (SUITECRM_CLIENT_ID, ...) and in ${CREDENTIALS_SETTING}; keep one of them`);
  }
  return [fromSettings(p), ...named];
}

/** The credential a caller's requests are sent with. */
export function credentialOf(caller: Pick<CallerSpec, 'suitecrm'> | undefined): string {
  return caller?.suitecrm ?? DEFAULT_CREDENTIAL;
}

/** Every caller must end up with a credential that exists; the message names the caller. */
export function checkCallerCredentials(credentials: readonly SuiteCrmCredential[], security: SecurityConfig): void {
  const names = new Set(credentials.map((c) => c.name));
  const known = [...names].map((n) => JSON.stringify(n)).join(', ');
  for (const caller of security.clients ?? []) {
    const name = credentialOf(caller);
    if (names.has(name)) continue;
    throw new ConfigError('PROXY_CLIENTS', caller.suitecrm === undefined
      ? `caller ${JSON.stringify(caller.name)} names no SuiteCRM credential and there is no "${DEFAULT_CREDENTIAL}" one: give it "suitecrm": "<name>" (configured: ${known}), or set SUITECRM_CLIENT_ID and SUITECRM_CLIENT_SECRET for "${DEFAULT_CREDENTIAL}"`
      : `caller ${JSON.stringify(caller.name)}.suitecrm names the SuiteCRM credential ${JSON.stringify(name)}, which ${CREDENTIALS_SETTING} does not define (configured: ${known})`);
  }
  const anonymous = security.clients === undefined || security.allowUnauthenticated;
  if (anonymous && !names.has(DEFAULT_CREDENTIAL)) {
    throw new ConfigError(CREDENTIALS_SETTING, `the caller "${ANONYMOUS_CALLER}" (requests without a proxy key${security.clients === undefined ? ': PROXY_CLIENTS is not set' : ': PROXY_ALLOW_UNAUTHENTICATED=true'}) uses the credential "${DEFAULT_CREDENTIAL}", which is not configured: set SUITECRM_CLIENT_ID and SUITECRM_CLIENT_SECRET, add a "${DEFAULT_CREDENTIAL}" entry to ${CREDENTIALS_SETTING}, or set PROXY_CLIENTS`);
  }
}
