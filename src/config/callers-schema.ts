/**
 * One schema for a PROXY_CLIENTS entry (JSON Schema, compiled once by Ajv, Fastify's own validator):
 * the fields, their types and the rule each must meet, with the message a broken field gets.
 * What a schema cannot say (one of key/keyFile/keySha256, a file that must be readable, key
 * length after reading it, unique names and keys) stays in callers.ts and oauth-credentials.ts.
 *
 * Every field has one spelling, camelCase, as documented. The snake_case spellings earlier
 * releases read are renamed to it first (SNAKE_CASE_ALIASES), so existing files keep working;
 * giving both spellings of one field is an error.
 */
import { NAME_PATTERN as CREDENTIAL_NAME_PATTERN, NAME_RULE } from './names.js';
import { compileSchema, filePath, isObject, rule, schemaMessage, Type } from './json-schema.js';

/** A bad setting, named; load.ts turns it into its ConfigError. */
export class SettingError extends Error {
  constructor(readonly setting: string, message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

/** A problem in PROXY_CLIENTS; the message names the caller and the field, never a key or secret. */
export class InvalidClientsError extends SettingError {
  constructor(message: string) {
    super('PROXY_CLIENTS', message);
    this.name = 'InvalidClientsError';
  }
}

const STRINGS = rule('must be a non-empty array of strings');
// An item's error is reported as its array's: the rule is stated once, on the array.
const strings = () => Type.Array(Type.String({ minLength: 1 }), { minItems: 1, ...STRINGS });
const hexDigest = (of: string) => Type.String({ pattern: '^[0-9a-fA-F]{64}$', ...rule(`must be 64 hex digits (sha256 of the ${of})`) });
const POSITIVE_INTEGER = rule('must be a positive whole number');

const AccessRule = Type.Object(
  { methods: Type.Optional(strings()), paths: Type.Optional(strings()) },
  { additionalProperties: false, ...rule('must be an object with methods and/or paths') },
);

const RateLimit = Type.Object({
  perSecond: Type.Number({ exclusiveMinimum: 0, ...rule('must be a positive number') }),
  burst: Type.Optional(Type.Integer({ minimum: 1, ...POSITIVE_INTEGER })),
}, { additionalProperties: false, ...rule('must be an object {"perSecond": n, "burst": n}') });

const CallerEntry = Type.Object({
  name: Type.Optional(Type.String()),
  key: Type.Optional(Type.String()),
  keyFile: Type.Optional(filePath()),
  keySha256: Type.Optional(hexDigest('key')),
  methods: Type.Optional(strings()),
  paths: Type.Optional(strings()),
  allow: Type.Optional(Type.Array(AccessRule, { minItems: 1, ...rule('must be a non-empty array of rules') })),
  rateLimit: Type.Optional(RateLimit),
  bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1, ...POSITIVE_INTEGER })),
  // OAuth-style credentials for the proxy's own token endpoint (local-oauth/).
  clientId: Type.Optional(Type.String({ pattern: '^[^\\s:]{1,255}$', ...rule('must be 1-255 characters without spaces or colons') })),
  clientSecret: Type.Optional(Type.String({ ...rule('must be a string of at least 16 characters') })),
  clientSecretFile: Type.Optional(filePath()),
  clientSecretSha256: Type.Optional(hexDigest('value')),
  username: Type.Optional(Type.String({ minLength: 1, ...rule('must be a non-empty string') })),
  password: Type.Optional(Type.String({ ...rule('must be a string of at least 1 characters') })),
  passwordFile: Type.Optional(filePath()),
  passwordSha256: Type.Optional(hexDigest('value')),
  grants: Type.Optional(Type.Array(Type.String(), { minItems: 1, ...rule('must be a non-empty array of grant names (client_credentials, password, refresh_token)') })),
  // The SuiteCRM credential (SUITECRM_CREDENTIALS) this caller's requests are sent with.
  suitecrm: Type.Optional(Type.String({ pattern: CREDENTIAL_NAME_PATTERN.source, ...rule(`must name a SuiteCRM credential: ${NAME_RULE}`) })),
}, { additionalProperties: false });

export type CallerEntry = Readonly<Record<string, unknown>> & {
  readonly name?: string; readonly key?: string; readonly keyFile?: string; readonly keySha256?: string;
  readonly methods?: readonly string[]; readonly paths?: readonly string[];
  readonly allow?: ReadonlyArray<{ readonly methods?: readonly string[]; readonly paths?: readonly string[] }>;
  readonly rateLimit?: { readonly perSecond: number; readonly burst?: number };
  readonly bodyLimitBytes?: number;
  readonly clientId?: string; readonly clientSecret?: string; readonly clientSecretFile?: string; readonly clientSecretSha256?: string;
  readonly username?: string; readonly password?: string; readonly passwordFile?: string; readonly passwordSha256?: string;
  readonly grants?: readonly string[];
  readonly suitecrm?: string;
};

/** The fields a caller may have, for the "unknown field" message. */
export const CALLER_FIELDS: readonly string[] = Object.keys(CallerEntry.properties);

/** Earlier releases' snake_case spellings, renamed to the documented camelCase before validation. */
const SNAKE_CASE_ALIASES: Readonly<Record<string, string>> = {
  key_file: 'keyFile', key_sha256: 'keySha256', rate_limit: 'rateLimit', body_limit_bytes: 'bodyLimitBytes',
  client_id: 'clientId', client_secret: 'clientSecret', client_secret_file: 'clientSecretFile', client_secret_sha256: 'clientSecretSha256',
  password_file: 'passwordFile', password_sha256: 'passwordSha256', per_second: 'perSecond',
};

const validateEntry = compileSchema(CallerEntry);

function withCamelCase(at: string, entry: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entry)) {
    const camel = SNAKE_CASE_ALIASES[name] ?? name;
    if (camel in out) throw new InvalidClientsError(`${at}: give ${camel} once (${name} is another spelling of it)`);
    out[camel] = camel === 'rateLimit' && isObject(value) ? withCamelCase(`${at}.rateLimit`, value) : value;
  }
  return out;
}

/** Validates one caller entry against the schema; returns it in the documented spelling. */
export function validateCallerEntry(at: string, entry: unknown): CallerEntry {
  if (!isObject(entry)) throw new InvalidClientsError(`${at} must be an object`);
  const normalised = withCamelCase(at, entry);
  const error = validateEntry(normalised);
  if (error !== undefined) throw new InvalidClientsError(schemaMessage(CallerEntry, at, error));
  return normalised as CallerEntry;
}
