/**
 * The SuiteCRM credentials the proxy requests tokens with (issue #13): the one the SUITECRM_*
 * settings describe, named `default`, and the named ones of SUITECRM_CREDENTIALS, each its own
 * SuiteCRM identity (an OAuth2 client, and for the password grant a user). Every caller's
 * requests go out with the token of exactly one of them. Messages name the credential and the
 * field, never a value.
 */
import { compileSchema, filePath, isObject, parseSecretJson, rule, schemaMessage, Type } from './json-schema.js';
import { SettingError } from './callers-schema.js';
import { NAME_PATTERN, NAME_RULE } from './names.js';
import { secretFileText } from './secret-text.js';
import { GRANT_TYPES, type GrantType } from './settings.js';

export const DEFAULT_CREDENTIAL = 'default';
export const CREDENTIALS_SETTING = 'SUITECRM_CREDENTIALS';

export interface SuiteCrmCredential {
  readonly name: string;
  readonly grantType: GrantType;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly refreshToken: string | undefined;
  /** True for `default` when the SUITECRM_* settings gave it: messages then name those settings. */
  readonly fromSettings: boolean;
}

type FileReader = (path: string) => string;

const nonEmpty = () => Type.String({ minLength: 1, ...rule('must be a non-empty string') });

const CredentialEntry = Type.Object({
  grantType: Type.Optional(Type.String({ enum: [...GRANT_TYPES], ...rule(`must be one of ${GRANT_TYPES.join(', ')}`) })),
  clientId: Type.String({ pattern: '^[^\\s]{1,255}$', ...rule('is required: the OAuth2 client id, 1-255 characters without spaces') }),
  clientSecret: Type.Optional(nonEmpty()),
  clientSecretFile: Type.Optional(filePath()),
  username: Type.Optional(nonEmpty()),
  password: Type.Optional(nonEmpty()),
  passwordFile: Type.Optional(filePath()),
  refreshToken: Type.Optional(nonEmpty()),
  refreshTokenFile: Type.Optional(filePath()),
}, { additionalProperties: false });

interface CredentialEntry {
  readonly grantType?: GrantType;
  readonly clientId: string;
  readonly clientSecret?: string; readonly clientSecretFile?: string;
  readonly username?: string;
  readonly password?: string; readonly passwordFile?: string;
  readonly refreshToken?: string; readonly refreshTokenFile?: string;
}

const validateEntry = compileSchema(CredentialEntry);

function invalid(message: string): SettingError {
  return new SettingError(CREDENTIALS_SETTING, message);
}

/** A secret given inline or as a file (at most one of them); undefined when neither is given. */
function secret(where: string, entry: CredentialEntry, plain: 'clientSecret' | 'password' | 'refreshToken', readFile: FileReader): string | undefined {
  const file = `${plain}File` as const;
  const path = entry[file];
  if (entry[plain] !== undefined && path !== undefined) throw invalid(`${where}: give ${plain} or ${file}, not both`);
  if (path === undefined) return entry[plain];
  let text: string;
  try {
    text = secretFileText(readFile(path));
  } catch (err) {
    throw invalid(`${where}.${file}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (text === '') throw invalid(`${where}.${file}: ${path} is empty`);
  return text;
}

/** What each grant needs, as the SUITECRM_* settings need it; fields another grant uses are refused. */
function parseCredential(name: string, raw: unknown, readFile: FileReader): SuiteCrmCredential {
  const where = `credential ${JSON.stringify(name)}`;
  if (!isObject(raw)) throw invalid(`${where} must be an object`);
  const error = validateEntry(raw);
  if (error !== undefined) throw invalid(schemaMessage(CredentialEntry, where, error));
  const entry = raw as unknown as CredentialEntry;
  const grantType = entry.grantType ?? 'client_credentials';
  const clientSecret = secret(where, entry, 'clientSecret', readFile);
  if (clientSecret === undefined) throw invalid(`${where} needs clientSecret or clientSecretFile (SuiteCRM checks the secret on every grant)`);
  const password = secret(where, entry, 'password', readFile);
  const refreshToken = secret(where, entry, 'refreshToken', readFile);
  if (grantType === 'password') {
    if (entry.username === undefined) throw invalid(`${where}.username is required for grantType password`);
    if (password === undefined) throw invalid(`${where} needs password or passwordFile for grantType password`);
  } else if (entry.username !== undefined || password !== undefined) {
    throw invalid(`${where}: username and password are used only with grantType password (this credential's grantType is ${grantType})`);
  }
  if (grantType === 'refresh_token' && refreshToken === undefined) throw invalid(`${where} needs refreshToken or refreshTokenFile for grantType refresh_token`);
  if (grantType !== 'refresh_token' && refreshToken !== undefined) throw invalid(`${where}: refreshToken is used only with grantType refresh_token`);
  return { name, grantType, clientId: entry.clientId, clientSecret, username: entry.username, password, refreshToken, fromSettings: false };
}

/** Parses SUITECRM_CREDENTIALS: a JSON object of credentials keyed by name. */
export function parseCredentials(text: string, readFile: FileReader): SuiteCrmCredential[] {
  const doc = parseSecretJson(text, invalid);
  if (!isObject(doc) || Object.keys(doc).length === 0) {
    throw invalid('must be a non-empty JSON object of credentials keyed by name, e.g. {"reporting": {"clientId": "...", "clientSecretFile": "/run/secrets/reporting"}}');
  }
  return Object.entries(doc).map(([name, entry]) => {
    if (!NAME_PATTERN.test(name)) throw invalid(`credential ${JSON.stringify(name.slice(0, 64))}: a name must be ${NAME_RULE}`);
    return parseCredential(name, entry, readFile);
  });
}

/** The setting a message should point at for one field of a credential. */
export function credentialField(credential: Pick<SuiteCrmCredential, 'name' | 'fromSettings'>, field: CredentialFieldName): string {
  return credential.fromSettings ? SETTING_OF_FIELD[field] : `${CREDENTIALS_SETTING} ${JSON.stringify(credential.name)}.${field}`;
}

export type CredentialFieldName = 'grantType' | 'clientId' | 'clientSecret' | 'username' | 'password' | 'refreshToken';

const SETTING_OF_FIELD: Readonly<Record<CredentialFieldName, string>> = {
  grantType: 'SUITECRM_GRANT_TYPE', clientId: 'SUITECRM_CLIENT_ID', clientSecret: 'SUITECRM_CLIENT_SECRET',
  username: 'SUITECRM_USERNAME', password: 'SUITECRM_PASSWORD', refreshToken: 'SUITECRM_REFRESH_TOKEN',
};

/**
 * A token error's detail, written for the SUITECRM_* settings, pointed at a named credential's
 * fields (clientId for SUITECRM_CLIENT_ID) instead, and prefixed with the credential's name so a
 * caller and the log say which one failed.
 */
export function detailFor(credential: Pick<SuiteCrmCredential, 'name' | 'fromSettings'>, detail: string): string {
  const pointed = credential.fromSettings ? detail : detail.replace(/SUITECRM_(GRANT_TYPE|CLIENT_ID|CLIENT_SECRET|USERNAME|PASSWORD|REFRESH_TOKEN)\b/g,
    (setting) => FIELD_OF_SETTING[setting] ?? setting);
  return `SuiteCRM credential ${JSON.stringify(credential.name)}: ${pointed}`;
}

const FIELD_OF_SETTING: Readonly<Record<string, CredentialFieldName>> = Object.fromEntries(
  Object.entries(SETTING_OF_FIELD).map(([field, setting]) => [setting, field as CredentialFieldName]));
