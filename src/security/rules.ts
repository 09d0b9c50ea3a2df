/**
 * Access rules, compiled once at start-up: which paths may be forwarded at all (allowed
 * prefixes, never the token endpoint unless asked), the global read-only switch, and each
 * caller's allow rules (methods + path patterns). A refusal names the rule that refused, for
 * the log; the caller only sees 403.
 */
import { isLogoutVariant } from './own-paths.js';
import type { CallerSpec } from '../config/callers.js';
import { LOCAL_TOKEN_PATHS } from './own-paths.js';

export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Token endpoint paths of SuiteCRM 7 and 8, with and without URL rewriting. */
export const DEFAULT_TOKEN_PATHS = LOCAL_TOKEN_PATHS;

export interface GlobalRules {
  /** Paths (as the caller sends them) must start with one of these. */
  readonly allowedPathPrefixes: readonly string[];
  readonly forwardTokenEndpoint: boolean;
  /** Extra token endpoint paths to refuse (e.g. SUITECRM_TOKEN_PATH). */
  readonly tokenPaths: readonly string[];
  readonly readOnly: boolean;
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly rule: string };

const ALLOWED: Decision = { allowed: true };

interface CompiledRule {
  readonly methods: ReadonlySet<string> | undefined;
  readonly paths: readonly RegExp[] | undefined;
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

export function compileCaller(spec: CallerSpec): CompiledCaller {
  const rules = spec.allow?.map((rule) => ({
    methods: rule.methods === undefined ? undefined : new Set(rule.methods),
    paths: rule.paths?.map(compilePattern),
  }));
  const described = spec.allow?.map((rule) => `${rule.methods?.join('|') ?? '*'} ${rule.paths?.join('|') ?? '*'}`).join('; ');
  return { name: spec.name, rules, refusal: `caller ${spec.name} allow rules [${described ?? '*'}]` };
}

function normaliseTokenPath(path: string): string {
  return path.replace(/\/+$/, '').toLowerCase();
}

export class AccessPolicy {
  private readonly prefixes: readonly string[];
  private readonly tokenPaths: ReadonlySet<string>;

  constructor(private readonly global: GlobalRules) {
    this.prefixes = global.allowedPathPrefixes;
    this.tokenPaths = new Set([...DEFAULT_TOKEN_PATHS, ...global.tokenPaths].map(normaliseTokenPath));
  }

  /**
   * `rawPath` is the path as received (no query), `decodedPath` its percent-decoded form; both
   * must pass, so an encoding trick cannot reach a path the plain form would be refused for.
   */
  check(caller: CompiledCaller | undefined, method: string, rawPath: string, decodedPath: string): Decision {
    if (!this.prefixes.some((p) => rawPath.startsWith(p) && decodedPath.startsWith(p))) {
      return { allowed: false, rule: `PROXY_ALLOWED_PATH_PREFIXES [${this.prefixes.join(',')}]` };
    }
    // Logout is answered by the proxy (src/local-oauth/); a variant the local route misses is not forwarded either.
    if (isLogoutVariant(decodedPath)) return { allowed: false, rule: 'logout is answered by the proxy, never forwarded' };
    if (!this.global.forwardTokenEndpoint && this.tokenPaths.has(normaliseTokenPath(decodedPath))) {
      return { allowed: false, rule: 'token endpoint (PROXY_FORWARD_TOKEN_ENDPOINT=false)' };
    }
    if (this.global.readOnly && !SAFE_METHODS.has(method)) {
      return { allowed: false, rule: 'PROXY_READ_ONLY' };
    }
    if (caller?.rules === undefined) return ALLOWED;
    for (const rule of caller.rules) {
      if (rule.methods !== undefined && !rule.methods.has(method)) continue;
      if (rule.paths !== undefined && !rule.paths.some((re) => re.test(rawPath) && re.test(decodedPath))) continue;
      return ALLOWED;
    }
    return { allowed: false, rule: caller.refusal };
  }
}
