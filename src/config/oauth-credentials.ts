/**
 * OAuth-style credentials of a caller (PROXY_CLIENTS): a client id and secret, and optionally a
 * username and password, that a legacy tool presents to the proxy's local token endpoint just as
 * it would to SuiteCRM's. Secrets and passwords are held only as SHA-256 digests (the secret's
 * digest is what SuiteCRM itself stores in `oauth2clients.secret`, so it can be copied from
 * there) and compared in constant time.
 */
import { InvalidClientsError, type CallerEntry } from './callers-schema.js';
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

/** A problem in a caller's OAuth fields: PROXY_CLIENTS's one error type (callers-schema.ts). */
export { InvalidClientsError as InvalidOAuthCredentialsError };

type FileReader = (path: string) => string;

export const MIN_CLIENT_SECRET_LENGTH = 16;


type SecretFields = readonly [plain: 'clientSecret' | 'password', file: 'clientSecretFile' | 'passwordFile', digest: 'clientSecretSha256' | 'passwordSha256'];

/** One secret given as plain text, a file, or its SHA-256 hex digest (checked by the schema): at most one of them. */
function secretDigest(where: string, entry: CallerEntry, [plain, file, digest]: SecretFields, readFile: FileReader, minLength: number): Buffer | undefined {
  const values = { plain: entry[plain], file: entry[file], digest: entry[digest] };
  const given = Object.values(values).filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given > 1) throw new InvalidClientsError(`${where} needs only one of ${plain}, ${file} or ${digest}`);
  if (values.digest !== undefined) return Buffer.from(values.digest, 'hex');
  let text = values.plain;
  if (values.file !== undefined) {
    try {
      text = secretFileText(readFile(values.file));
    } catch (err) {
      throw new InvalidClientsError(`${where}.${file}: cannot read ${values.file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  if (text === undefined || text.length < minLength) {
    throw new InvalidClientsError(`${where}.${plain} must be a string of at least ${minLength} characters`);
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
    throw new InvalidClientsError(`${where}.grants must be a non-empty array of grant names (${GRANT_TYPES.join(', ')})`);
  }
  for (const grant of listed) {
    if (!GRANT_TYPES.includes(grant as LocalGrantType)) {
      const shown = typeof grant === 'string' ? JSON.stringify(grant.slice(0, 40)) : typeof grant;
      throw new InvalidClientsError(`${where}.grants: ${shown} is not a grant the local token endpoint knows (${GRANT_TYPES.join(', ')})`);
    }
  }
  const grants = new Set(listed as LocalGrantType[]);
  if (grants.has('password') && !hasUser) throw new InvalidClientsError(`${where}.grants lists password, which needs username and password`);
  if (grants.has('password')) grants.add('refresh_token');
  return grants;
}

/**
 * Reads a caller's OAuth fields; undefined when it has none. A client id needs a secret; a
 * username needs a password (and a client id), and the other way round.
 */
export function parseOAuthCredentials(where: string, entry: CallerEntry, readFile: FileReader): OAuthCredentialSpec | undefined {
  const { clientId, username } = entry;
  const clientSecretDigest = secretDigest(where, entry, ['clientSecret', 'clientSecretFile', 'clientSecretSha256'], readFile, MIN_CLIENT_SECRET_LENGTH);
  const passwordDigest = secretDigest(where, entry, ['password', 'passwordFile', 'passwordSha256'], readFile, 1);
  if (clientId === undefined) {
    if (clientSecretDigest !== undefined || username !== undefined || passwordDigest !== undefined || entry.grants !== undefined) {
      throw new InvalidClientsError(`${where}: clientSecret, username, password and grants need a clientId`);
    }
    return undefined;
  }
  if (clientSecretDigest === undefined) throw new InvalidClientsError(`${where}: clientId needs clientSecret, clientSecretFile or clientSecretSha256`);
  if ((username === undefined) !== (passwordDigest === undefined)) {
    throw new InvalidClientsError(`${where}: username and password go together`);
  }
  const grants = allowedGrants(where, username !== undefined, entry.grants);
  return { clientId, clientSecretDigest, username, passwordDigest, grants };
}

/** Throws when two callers share a client id (a token request must name exactly one caller). */
export function checkUniqueClientIds(callers: readonly { readonly name: string; readonly oauth?: OAuthCredentialSpec }[]): void {
  const seen = new Map<string, string>();
  for (const caller of callers) {
    if (caller.oauth === undefined) continue;
    const other = seen.get(caller.oauth.clientId);
    if (other !== undefined) {
      throw new InvalidClientsError(`callers ${JSON.stringify(other)} and ${JSON.stringify(caller.name)} have the same clientId`);
    }
    seen.set(caller.oauth.clientId, caller.name);
  }
}
