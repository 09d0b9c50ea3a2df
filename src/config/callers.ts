/**
 * Inbound callers (PROXY_CLIENTS): who may use the proxy, with which key, under which rules.
 * Keys are held only as SHA-256 digests and compared in constant time; error messages name the
 * caller and the field, never a key.
 */
import { InvalidClientsError, validateCallerEntry, type CallerEntry } from './callers-schema.js';
import { checkUniqueClientIds, parseOAuthCredentials, type OAuthCredentialSpec } from './oauth-credentials.js';
import { parseSecretJson } from './json-schema.js';
import { NAME_PATTERN, NAME_RULE } from './names.js';
import { secretFileText, sha256 } from './secret-text.js';

export { InvalidClientsError, sha256 };

export const ANONYMOUS_CALLER = 'anonymous';

export interface CallerRuleSpec {
  /** Upper-case HTTP methods; undefined means any method. */
  readonly methods: readonly string[] | undefined;
  /** Glob-ish path patterns (`*` matches any run of characters); undefined means any path. */
  readonly paths: readonly string[] | undefined;
}

export interface RateLimitSpec {
  readonly perSecond: number;
  readonly burst: number;
}

export interface CallerSpec {
  readonly name: string;
  /** SHA-256 digest of the caller's key (32 bytes); undefined for a caller that only logs in with OAuth credentials. */
  readonly keyDigest: Buffer | undefined;
  /** OAuth-style credentials for the local token endpoint (src/local-oauth/, issue #8). */
  readonly oauth: OAuthCredentialSpec | undefined;
  /** Allow rules: a request passes if any one matches. Undefined: everything the global rules allow. */
  readonly allow: readonly CallerRuleSpec[] | undefined;
  readonly rateLimit: RateLimitSpec | undefined;
  readonly bodyLimitBytes: number | undefined;
  /** The SuiteCRM credential (SUITECRM_CREDENTIALS) named by `suitecrm`; undefined: `default`. */
  readonly suitecrm: string | undefined;
}

export const MIN_KEY_LENGTH = 16;
const METHOD_PATTERN = /^[A-Z]+$/;

type FileReader = (path: string) => string;

function parseRule(where: string, entry: { readonly methods?: readonly string[]; readonly paths?: readonly string[] }): CallerRuleSpec {
  const methods = entry.methods?.map((m) => m.toUpperCase());
  for (const m of methods ?? []) {
    if (!METHOD_PATTERN.test(m)) throw new InvalidClientsError(`${where}.methods: ${JSON.stringify(m)} is not an HTTP method`);
  }
  for (const p of entry.paths ?? []) {
    if (!p.startsWith('/')) throw new InvalidClientsError(`${where}.paths: ${JSON.stringify(p)} must start with /`);
  }
  return { methods, paths: entry.paths };
}

function keyDigest(where: string, entry: CallerEntry, readFile: FileReader, hasOAuth: boolean): Buffer | undefined {
  const { key, keyFile, keySha256 } = entry;
  const given = [key, keyFile, keySha256].filter((v) => v !== undefined).length;
  // A caller with OAuth credentials may have no key: it authenticates with the local tokens it logs in for.
  if (given === 0 && hasOAuth) return undefined;
  if (given !== 1) throw new InvalidClientsError(`${where} needs exactly one of key, keyFile or keySha256${hasOAuth ? '' : ' (or clientId and clientSecret)'}`);
  if (keySha256 !== undefined) return Buffer.from(keySha256, 'hex');
  let text = key;
  if (keyFile !== undefined) {
    try {
      text = secretFileText(readFile(keyFile));
    } catch (err) {
      throw new InvalidClientsError(`${where}.keyFile: cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  if (text === undefined || text.length < MIN_KEY_LENGTH || /[\s,]/.test(text)) {
    throw new InvalidClientsError(`${where}: the key must be at least ${MIN_KEY_LENGTH} characters without spaces or commas (e.g. openssl rand -hex 32)`);
  }
  return sha256(text);
}

function parseCaller(raw: unknown, index: number, nameFromKey: string | undefined, readFile: FileReader): CallerSpec {
  const at = nameFromKey === undefined ? `caller #${index + 1}` : `caller ${JSON.stringify(nameFromKey)}`;
  const named = nameFromKey ?? (raw as { name?: unknown } | null)?.name;
  const entry = validateCallerEntry(typeof named === 'string' && NAME_PATTERN.test(named) ? `caller ${JSON.stringify(named)}` : at, raw);
  const name = nameFromKey ?? entry.name;
  if (name === undefined || !NAME_PATTERN.test(name)) {
    throw new InvalidClientsError(`${at}: name must be ${NAME_RULE}`);
  }
  if (name === ANONYMOUS_CALLER) throw new InvalidClientsError(`${at}: the name "${ANONYMOUS_CALLER}" is reserved`);
  const where = `caller ${JSON.stringify(name)}`;
  if (entry.allow !== undefined && (entry.methods !== undefined || entry.paths !== undefined)) {
    throw new InvalidClientsError(`${where}: use either allow or methods/paths, not both`);
  }
  const allow = entry.allow !== undefined
    ? entry.allow.map((rule, i) => parseRule(`${where}.allow[${i}]`, rule))
    : entry.methods !== undefined || entry.paths !== undefined ? [parseRule(where, entry)] : undefined;
  const oauth = parseOAuthCredentials(where, entry, readFile);
  const rateLimit = entry.rateLimit === undefined ? undefined
    : { perSecond: entry.rateLimit.perSecond, burst: entry.rateLimit.burst ?? Math.max(1, Math.ceil(entry.rateLimit.perSecond)) };
  return { name, keyDigest: keyDigest(where, entry, readFile, oauth !== undefined), oauth, allow, rateLimit, bodyLimitBytes: entry.bodyLimitBytes, suitecrm: entry.suitecrm };
}

/**
 * Parses PROXY_CLIENTS: a JSON array of callers (each with a name) or an object keyed by name.
 * Throws InvalidClientsError naming the caller and field; never includes a key or the raw text.
 */
export function parseClients(text: string, readFile: FileReader): CallerSpec[] {
  const doc = parseSecretJson(text, (message) => new InvalidClientsError(message));
  const callers = Array.isArray(doc)
    ? doc.map((entry, i) => parseCaller(entry, i, undefined, readFile))
    : typeof doc === 'object' && doc !== null
      ? Object.entries(doc).map(([name, entry], i) => parseCaller(entry, i, name, readFile))
      : undefined;
  if (callers === undefined || callers.length === 0) {
    throw new InvalidClientsError('must be a non-empty JSON array of callers, or an object keyed by caller name');
  }
  const names = new Set<string>();
  const digests = new Set<string>();
  for (const caller of callers) {
    if (names.has(caller.name)) throw new InvalidClientsError(`caller ${JSON.stringify(caller.name)} is defined twice`);
    names.add(caller.name);
    if (caller.keyDigest === undefined) continue;
    const hex = caller.keyDigest.toString('hex');
    if (digests.has(hex)) throw new InvalidClientsError(`caller ${JSON.stringify(caller.name)} has the same key as another caller; give every caller its own key`);
    digests.add(hex);
  }
  checkUniqueClientIds(callers);
  return callers;
}
