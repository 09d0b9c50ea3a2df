/**
 * Access rules, compiled once at start-up: which paths may be forwarded at all (allowed
 * prefixes, never the token endpoint unless asked), the global read-only switch, and each
 * caller's allow rules (methods + path patterns). Every rule sees the canonical path
 * (canonical-path.ts), and rule text written in another spelling is read in canonical spelling,
 * so a rule holds for `/Api/...` and `/legacy/Api/...` alike. A refusal names the rule that
 * refused, for the log; the caller only sees 403.
 */
import type { CallerSpec } from '../config/callers.js';
import { API_PREFIX, canonicalSpelling, coversLegacyApi, endpointKey, LEGACY_PREFIX, type CanonicalPath } from './canonical-path.js';

export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** SuiteCRM's token endpoint and logout in canonical spelling, as endpointKey() gives them. */
const TOKEN_KEY = endpointKey(`${API_PREFIX}/access_token`);
const LOGOUT_KEY = endpointKey(`${API_PREFIX}/V8/logout`);
/** Only a path with one of these can be the token endpoint or logout: the others skip endpointKey(). */
const OWN_ENDPOINT_HINT = /logout|access_token/i;

export interface GlobalRules {
  /** Canonical paths must start with one of these (read in canonical spelling). */
  readonly allowedPathPrefixes: readonly string[];
  readonly forwardTokenEndpoint: boolean;
  /** Extra token endpoint paths to refuse (SUITECRM_TOKEN_PATH, when set). */
  readonly tokenPaths: readonly string[];
  readonly readOnly: boolean;
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly rule: string };

const ALLOWED: Decision = { allowed: true };

interface CompiledRule {
  readonly methods: ReadonlySet<string> | undefined;
  readonly paths: readonly RegExp[] | undefined;
  /** Patterns that stop short of `/legacy/Api` (`/legacy/*`): matched against `/legacy` + the canonical API path. */
  readonly legacyPaths: readonly RegExp[];
}

export interface CompiledCaller {
  readonly name: string;
  readonly rules: readonly CompiledRule[] | undefined;
  readonly refusal: string;
}

/** `*` matches any run of characters (slashes included); everything else is literal. */
export function compilePattern(pattern: string): RegExp {
  const body = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

function compileRule(methods: readonly string[] | undefined, patterns: readonly string[] | undefined): CompiledRule {
  const legacy = (patterns ?? []).filter((pattern) => pattern.includes('*') && coversLegacyApi(pattern.slice(0, pattern.indexOf('*'))));
  return {
    methods: methods === undefined ? undefined : new Set(methods),
    paths: patterns?.map((pattern) => compilePattern(canonicalSpelling(pattern))),
    legacyPaths: legacy.map(compilePattern),
  };
}

export function compileCaller(spec: CallerSpec): CompiledCaller {
  const rules = spec.allow?.map((rule) => compileRule(rule.methods, rule.paths));
  const described = spec.allow?.map((rule) => `${rule.methods?.join('|') ?? '*'} ${rule.paths?.join('|') ?? '*'}`).join('; ');
  return { name: spec.name, rules, refusal: `caller ${spec.name} allow rules [${described ?? '*'}]` };
}

/** The prefixes in canonical spelling; one that stops short of `/legacy/Api` also allows the API, as it did. */
function canonicalPrefixes(prefixes: readonly string[]): readonly string[] {
  const canonical = prefixes.flatMap((prefix) => (coversLegacyApi(prefix) ? [prefix, `${API_PREFIX}/`] : [canonicalSpelling(prefix)]));
  return [...new Set(canonical)];
}

function pathMatches(rule: CompiledRule, target: CanonicalPath): boolean {
  if (rule.paths === undefined) return true;
  if (rule.paths.some((re) => re.test(target.path))) return true;
  return target.api && rule.legacyPaths.length > 0 && rule.legacyPaths.some((re) => re.test(LEGACY_PREFIX + target.path));
}

export class AccessPolicy {
  private readonly prefixes: readonly string[];
  private readonly tokenKeys: ReadonlySet<string>;
  /** A SUITECRM_TOKEN_PATH that is not the usual one: every path is checked against it. */
  private readonly customTokenPath: boolean;

  constructor(private readonly global: GlobalRules) {
    this.prefixes = canonicalPrefixes(global.allowedPathPrefixes);
    this.tokenKeys = new Set([TOKEN_KEY, ...global.tokenPaths.map(endpointKey)]);
    this.customTokenPath = this.tokenKeys.size > 1;
  }

  /** Decides on the canonical path (canonical-path.ts): a rule holds for every spelling of it. */
  check(caller: CompiledCaller | undefined, method: string, target: CanonicalPath): Decision {
    const path = target.path;
    if (!this.prefixes.some((p) => path.startsWith(p))) {
      return { allowed: false, rule: `PROXY_ALLOWED_PATH_PREFIXES [${this.global.allowedPathPrefixes.join(',')}]` };
    }
    if (this.customTokenPath || OWN_ENDPOINT_HINT.test(path)) {
      const key = endpointKey(path);
      // Logout is answered by the proxy (src/local-oauth/); a near miss the local route does not match is not forwarded either.
      if (key === LOGOUT_KEY) return { allowed: false, rule: 'logout is answered by the proxy, never forwarded' };
      if (!this.global.forwardTokenEndpoint && this.tokenKeys.has(key)) {
        return { allowed: false, rule: 'token endpoint (PROXY_FORWARD_TOKEN_ENDPOINT=false)' };
      }
    }
    if (this.global.readOnly && !SAFE_METHODS.has(method)) {
      return { allowed: false, rule: 'PROXY_READ_ONLY' };
    }
    if (caller?.rules === undefined) return ALLOWED;
    for (const rule of caller.rules) {
      if (rule.methods !== undefined && !rule.methods.has(method)) continue;
      if (!pathMatches(rule, target)) continue;
      return ALLOWED;
    }
    return { allowed: false, rule: caller.refusal };
  }
}
