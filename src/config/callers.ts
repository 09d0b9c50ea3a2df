/**
 * Inbound callers (PROXY_CLIENTS): who may use the proxy, with which key, under which rules.
 * Keys are held only as SHA-256 digests and compared in constant time; error messages name the
 * caller and the field, never a key.
 */
import { secretFileText, sha256 } from './secret-text.js';

export { sha256 };
import { checkUniqueClientIds, InvalidOAuthCredentialsError, OAUTH_CALLER_FIELDS, parseOAuthCredentials, type OAuthCredentialSpec } from './oauth-credentials.js';

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
}

/** A problem in PROXY_CLIENTS; load.ts turns it into a ConfigError naming the setting. */
export class InvalidClientsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidClientsError';
  }
}

export const MIN_KEY_LENGTH = 16;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const METHOD_PATTERN = /^[A-Z]+$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** Field names accepted per caller. Issue #8 extends this table with per-caller SuiteCRM credentials. */
const CALLER_FIELDS = new Set([
  'name', 'key', 'keyFile', 'key_file', 'keySha256', 'key_sha256',
  'methods', 'paths', 'allow', 'rateLimit', 'rate_limit', 'bodyLimitBytes', 'body_limit_bytes',
  ...OAUTH_CALLER_FIELDS,
]);


type Json = Record<string, unknown>;
type FileReader = (path: string) => string;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(entry: Json, camel: string, snake?: string): unknown {
  return entry[camel] ?? (snake === undefined ? undefined : entry[snake]);
}

function stringList(where: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw new InvalidClientsError(`${where} must be a non-empty array of strings`);
  }
  return value as string[];
}

function parseRule(where: string, entry: Json): CallerRuleSpec {
  const methodsRaw = entry.methods;
  const pathsRaw = entry.paths;
  const methods = methodsRaw === undefined ? undefined : stringList(`${where}.methods`, methodsRaw).map((m) => m.toUpperCase());
  for (const m of methods ?? []) {
    if (!METHOD_PATTERN.test(m)) throw new InvalidClientsError(`${where}.methods: ${JSON.stringify(m)} is not an HTTP method`);
  }
  const paths = pathsRaw === undefined ? undefined : stringList(`${where}.paths`, pathsRaw);
  for (const p of paths ?? []) {
    if (!p.startsWith('/')) throw new InvalidClientsError(`${where}.paths: ${JSON.stringify(p)} must start with /`);
  }
  return { methods, paths };
}

function positive(where: string, value: unknown, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new InvalidClientsError(`${where} must be a positive ${integer ? 'whole ' : ''}number`);
  }
  return value;
}

function parseRateLimit(where: string, value: unknown): RateLimitSpec | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new InvalidClientsError(`${where} must be an object {"perSecond": n, "burst": n}`);
  const perSecond = positive(`${where}.perSecond`, field(value, 'perSecond', 'per_second'), false);
  const burstRaw = value.burst;
  const burst = burstRaw === undefined ? Math.max(1, Math.ceil(perSecond)) : positive(`${where}.burst`, burstRaw, true);
  return { perSecond, burst };
}

function keyDigest(where: string, entry: Json, readFile: FileReader, hasOAuth: boolean): Buffer | undefined {
  const key = entry.key;
  const keyFile = field(entry, 'keyFile', 'key_file');
  const keySha = field(entry, 'keySha256', 'key_sha256');
  const given = [key, keyFile, keySha].filter((v) => v !== undefined).length;
  // A caller with OAuth credentials may have no key: it authenticates with the local tokens it logs in for.
  if (given === 0 && hasOAuth) return undefined;
  if (given !== 1) throw new InvalidClientsError(`${where} needs exactly one of key, keyFile or keySha256${hasOAuth ? '' : ' (or clientId and clientSecret)'}`);
  if (keySha !== undefined) {
    if (typeof keySha !== 'string' || !SHA256_HEX.test(keySha)) {
      throw new InvalidClientsError(`${where}.keySha256 must be 64 hex digits (sha256 of the key)`);
    }
    return Buffer.from(keySha, 'hex');
  }
  let text: unknown = key;
  if (keyFile !== undefined) {
    if (typeof keyFile !== 'string' || keyFile === '') throw new InvalidClientsError(`${where}.keyFile must be a file path`);
    try {
      // Files written by editors and `echo` end with a newline that is not part of the key.
      text = secretFileText(readFile(keyFile));
    } catch (err) {
      throw new InvalidClientsError(`${where}.keyFile: cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  if (typeof text !== 'string' || text.length < MIN_KEY_LENGTH || /[\s,]/.test(text)) {
    throw new InvalidClientsError(`${where}: the key must be at least ${MIN_KEY_LENGTH} characters without spaces or commas (e.g. openssl rand -hex 32)`);
  }
  return sha256(text);
}

function parseCaller(entry: unknown, index: number, nameFromKey: string | undefined, readFile: FileReader): CallerSpec {
  const at = nameFromKey === undefined ? `caller #${index + 1}` : `caller ${JSON.stringify(nameFromKey)}`;
  if (!isObject(entry)) throw new InvalidClientsError(`${at} must be an object`);
  for (const name of Object.keys(entry)) {
    if (!CALLER_FIELDS.has(name)) {
      throw new InvalidClientsError(`${at}: unknown field ${JSON.stringify(name)} (known: ${[...CALLER_FIELDS].join(', ')})`);
    }
  }
  const name = nameFromKey ?? entry.name;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new InvalidClientsError(`${at}: name must be 1-64 characters of letters, digits, '.', '_' or '-'`);
  }
  if (name === ANONYMOUS_CALLER) throw new InvalidClientsError(`${at}: the name "${ANONYMOUS_CALLER}" is reserved`);
  const where = `caller ${JSON.stringify(name)}`;
  if (entry.allow !== undefined && (entry.methods !== undefined || entry.paths !== undefined)) {
    throw new InvalidClientsError(`${where}: use either allow or methods/paths, not both`);
  }
  let allow: CallerRuleSpec[] | undefined;
  if (entry.allow !== undefined) {
    if (!Array.isArray(entry.allow) || entry.allow.length === 0) throw new InvalidClientsError(`${where}.allow must be a non-empty array of rules`);
    allow = entry.allow.map((rule: unknown, i) => {
      if (!isObject(rule) || Object.keys(rule).some((k) => k !== 'methods' && k !== 'paths')) {
        throw new InvalidClientsError(`${where}.allow[${i}] must be an object with methods and/or paths`);
      }
      return parseRule(`${where}.allow[${i}]`, rule);
    });
  } else if (entry.methods !== undefined || entry.paths !== undefined) {
    allow = [parseRule(where, entry)];
  }
  const bodyLimitRaw = field(entry, 'bodyLimitBytes', 'body_limit_bytes');
  let oauth: OAuthCredentialSpec | undefined;
  try {
    oauth = parseOAuthCredentials(where, entry, readFile);
  } catch (err) {
    if (err instanceof InvalidOAuthCredentialsError) throw new InvalidClientsError(err.message);
    throw err;
  }
  return {
    name,
    keyDigest: keyDigest(where, entry, readFile, oauth !== undefined),
    oauth,
    allow,
    rateLimit: parseRateLimit(`${where}.rateLimit`, field(entry, 'rateLimit', 'rate_limit')),
    bodyLimitBytes: bodyLimitRaw === undefined ? undefined : positive(`${where}.bodyLimitBytes`, bodyLimitRaw, true),
  };
}

/**
 * Parses PROXY_CLIENTS: a JSON array of callers (each with a name) or an object keyed by name.
 * Throws InvalidClientsError naming the caller and field; never includes a key or the raw text.
 */
export function parseClients(text: string, readFile: FileReader): CallerSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // JSON.parse messages can quote the input, and the input holds keys: report the position only.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new InvalidClientsError(`is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`);
  }
  const callers = Array.isArray(doc)
    ? doc.map((entry, i) => parseCaller(entry, i, undefined, readFile))
    : isObject(doc)
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
  try {
    checkUniqueClientIds(callers);
  } catch (err) {
    if (err instanceof InvalidOAuthCredentialsError) throw new InvalidClientsError(err.message);
    throw err;
  }
  return callers;
}
