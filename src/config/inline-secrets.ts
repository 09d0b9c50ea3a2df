/**
 * Which secret settings a config file holds in plain text, for `--check-config`'s warning. A
 * secret setting whose secrets all come from files is not one: PROXY_CLIENTS and
 * SUITECRM_CREDENTIALS are JSON whose entries may name files (keyFile, clientSecretFile, ...) or
 * digests (keySha256, ...) instead of holding secrets, and a REDIS_URL holds one only with a password.
 */
import { SETTINGS, type SettingSpec } from './settings.js';
import { JSON_SETTINGS } from './file-paths.js';
import { isObject } from './json-schema.js';

/** The fields of a PROXY_CLIENTS or SUITECRM_CREDENTIALS entry that hold a secret as it is, in either spelling. */
const PLAIN_SECRET_FIELDS = new Set(['key', 'clientSecret', 'client_secret', 'password', 'refreshToken', 'refresh_token']);

function entriesOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return isObject(value) ? Object.values(value) : [];
}

/** Whether the setting's text, as the config file gives it, holds a secret itself (not a file name or a digest). */
export function holdsPlainSecret(setting: string, text: string): boolean {
  if (JSON_SETTINGS.has(setting)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return true;
    }
    return entriesOf(parsed).some((entry) => isObject(entry) &&
      Object.entries(entry).some(([field, value]) => PLAIN_SECRET_FIELDS.has(field) && value !== undefined && value !== null && value !== ''));
  }
  if (setting === 'REDIS_URL') {
    try {
      return new URL(text).password !== '';
    } catch {
      return true;
    }
  }
  return true;
}

/** The secret settings `fileValues` holds in plain text, leaving out those the environment replaces (`overridden`). */
export function plainTextSecrets(fileValues: Readonly<Record<string, string>>, overridden: (setting: string) => boolean): string[] {
  return (SETTINGS as readonly SettingSpec[])
    .filter((s) => s.secret && fileValues[s.env] !== undefined && !overridden(s.env) && holdsPlainSecret(s.env, fileValues[s.env]!))
    .map((s) => s.env);
}
