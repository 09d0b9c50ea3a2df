/**
 * OAuth-style credentials of a caller (PROXY_CLIENTS): a client id and secret, and optionally a
 * username and password, that a legacy tool presents to the proxy's local token endpoint just as
 * it would to SuiteCRM's. Secrets and passwords are held only as SHA-256 digests (the secret's
 * digest is what SuiteCRM itself stores in `oauth2clients.secret`, so it can be copied from
 * there) and compared in constant time.
 */
import { secretFileText, sha256 } from './secret-text.js';

export { sha256 };

/** The grants the proxy's local token endpoint speaks, as SuiteCRM does. */
export const GRANT_TYPES = ['client_credentials', 'password', 'refresh_token'] as const;
export type LocalGrantType = (typeof GRANT_TYPES)[number];

export interface OAuthCredentialSpec {
  readonly clientId: string;
  readonly clientSecretDigest: Buffer;
  /** With a username and password the caller uses the password grant. */
  readonly username: string | undefined;
  readonly passwordDigest: Buffer | undefined;
  /** The grants this caller may use at the local token endpoint (see `allowedGrants`). */
  readonly grants: ReadonlySet<LocalGrantType>;
}

/** Caller fields this module reads (camelCase and snake_case, like the other caller fields). */
export const OAUTH_CALLER_FIELDS: readonly string[] = [
  'clientId', 'client_id', 'clientSecret', 'client_secret', 'clientSecretFile', 'client_secret_file',
  'clientSecretSha256', 'client_secret_sha256', 'username', 'password', 'passwordFile', 'password_file',
  'passwordSha256', 'password_sha256', 'grants',
];

/** A problem in a caller's OAuth fields; the message names the caller and field, never a value. */
export class InvalidOAuthCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidOAuthCredentialsError';
  }
}

type Json = Readonly<Record<string, unknown>>;
type FileReader = (path: string) => string;

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
export const MIN_CLIENT_SECRET_LENGTH = 16;


function field(entry: Json, camel: string, snake: string): unknown {
  return entry[camel] ?? entry[snake];
}

/** One secret given as plain text, a file, or its SHA-256 hex digest: exactly one of them. */
function secretDigest(where: string, entry: Json, names: readonly [string, string, string, string, string, string], readFile: FileReader, minLength: number): Buffer | undefined {
  const [plain, plainSnake, file, fileSnake, digest, digestSnake] = names;
  const values = { plain: field(entry, plain, plainSnake), file: field(entry, file, fileSnake), digest: field(entry, digest, digestSnake) };
  const given = Object.values(values).filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given > 1) throw new InvalidOAuthCredentialsError(`${where} needs only one of ${plain}, ${file} or ${digest}`);
  if (values.digest !== undefined) {
    if (typeof values.digest !== 'string' || !SHA256_HEX.test(values.digest)) {
      throw new InvalidOAuthCredentialsError(`${where}.${digest} must be 64 hex digits (sha256 of the value)`);
    }
    return Buffer.from(values.digest, 'hex');
  }
  let text = values.plain;
  if (values.file !== undefined) {
    if (typeof values.file !== 'string' || values.file === '') throw new InvalidOAuthCredentialsError(`${where}.${file} must be a file path`);
    try {
      text = secretFileText(readFile(values.file));
    } catch (err) {
      throw new InvalidOAuthCredentialsError(`${where}.${file}: cannot read ${values.file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  if (typeof text !== 'string' || text.length < minLength) {
    throw new InvalidOAuthCredentialsError(`${where}.${plain} must be a string of at least ${minLength} characters`);
  }
  return sha256(text);
}

/**
 * SuiteCRM's model (`oauth2clients.allowed_grant_type`): a client is either a password client or
 * a client_credentials client. So a caller with a username and password may use the password
 * grant, one without may use client_credentials, and `grants` lists more explicitly. A password
 * login's refresh token can always be used (refresh_token comes with password).
 */
export function allowedGrants(where: string, hasUser: boolean, listed: unknown): ReadonlySet<LocalGrantType> {
  if (listed === undefined) return new Set<LocalGrantType>(hasUser ? ['password', 'refresh_token'] : ['client_credentials', 'refresh_token']);
  if (!Array.isArray(listed) || listed.length === 0) {
    throw new InvalidOAuthCredentialsError(`${where}.grants must be a non-empty array of grant names (${GRANT_TYPES.join(', ')})`);
  }
  for (const grant of listed) {
    if (!GRANT_TYPES.includes(grant as LocalGrantType)) {
      const shown = typeof grant === 'string' ? JSON.stringify(grant.slice(0, 40)) : typeof grant;
      throw new InvalidOAuthCredentialsError(`${where}.grants: ${shown} is not a grant the local token endpoint knows (${GRANT_TYPES.join(', ')})`);
    }
  }
  const grants = new Set(listed as LocalGrantType[]);
  if (grants.has('password') && !hasUser) throw new InvalidOAuthCredentialsError(`${where}.grants lists password, which needs username and password`);
  if (grants.has('password')) grants.add('refresh_token');
  return grants;
}

/**
 * Reads a caller's OAuth fields; undefined when it has none. A client id needs a secret; a
 * username needs a password (and a client id), and the other way round.
 */
export function parseOAuthCredentials(where: string, entry: Json, readFile: FileReader): OAuthCredentialSpec | undefined {
  const clientId = field(entry, 'clientId', 'client_id');
  const clientSecretDigest = secretDigest(where, entry,
    ['clientSecret', 'client_secret', 'clientSecretFile', 'client_secret_file', 'clientSecretSha256', 'client_secret_sha256'], readFile, MIN_CLIENT_SECRET_LENGTH);
  const username = entry.username;
  const passwordDigest = secretDigest(where, entry,
    ['password', 'password', 'passwordFile', 'password_file', 'passwordSha256', 'password_sha256'], readFile, 1);
  if (clientId === undefined) {
    if (clientSecretDigest !== undefined || username !== undefined || passwordDigest !== undefined || entry.grants !== undefined) {
      throw new InvalidOAuthCredentialsError(`${where}: clientSecret, username, password and grants need a clientId`);
    }
    return undefined;
  }
  if (typeof clientId !== 'string' || clientId === '' || clientId.length > 255 || /[\s:]/.test(clientId)) {
    throw new InvalidOAuthCredentialsError(`${where}.clientId must be 1-255 characters without spaces or colons`);
  }
  if (clientSecretDigest === undefined) throw new InvalidOAuthCredentialsError(`${where}: clientId needs clientSecret, clientSecretFile or clientSecretSha256`);
  if (username !== undefined && (typeof username !== 'string' || username === '')) {
    throw new InvalidOAuthCredentialsError(`${where}.username must be a non-empty string`);
  }
  if ((username === undefined) !== (passwordDigest === undefined)) {
    throw new InvalidOAuthCredentialsError(`${where}: username and password go together`);
  }
  const grants = allowedGrants(where, username !== undefined, entry.grants);
  return { clientId, clientSecretDigest, username: username as string | undefined, passwordDigest, grants };
}

/** Throws when two callers share a client id (a token request must name exactly one caller). */
export function checkUniqueClientIds(callers: readonly { readonly name: string; readonly oauth?: OAuthCredentialSpec }[]): void {
  const seen = new Map<string, string>();
  for (const caller of callers) {
    if (caller.oauth === undefined) continue;
    const other = seen.get(caller.oauth.clientId);
    if (other !== undefined) {
      throw new InvalidOAuthCredentialsError(`callers ${JSON.stringify(other)} and ${JSON.stringify(caller.name)} have the same clientId`);
    }
    seen.set(caller.oauth.clientId, caller.name);
  }
}
