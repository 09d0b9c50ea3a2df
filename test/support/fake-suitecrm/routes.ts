/**
 * The route table of `S7:Api/V8/Config/routes.php` (the subset the double
 * implements) and Slim-style matching: 404 for unknown paths, 405 + Allow for
 * a known path with the wrong method.
 */

export type RouteName =
  | 'token'
  | 'logout'
  | 'currentUser'
  | 'metaModules'
  | 'list'
  | 'get'
  | 'create'
  | 'update'
  | 'delete'
  | 'echo'
  | 'redirect'
  | 'big';

interface RouteDef {
  name: RouteName;
  methods: readonly string[];
  /** Path segments after the prefix; `{x}` is a parameter. */
  pattern: readonly string[];
}

/** Slim's `any()`. */
const ANY = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const ROUTES: readonly RouteDef[] = [
  { name: 'token', methods: ['POST'], pattern: ['access_token'] },
  { name: 'logout', methods: ['POST'], pattern: ['V8', 'logout'] },
  { name: 'currentUser', methods: ['GET'], pattern: ['V8', 'current-user'] },
  { name: 'metaModules', methods: ['GET'], pattern: ['V8', 'meta', 'modules'] },
  { name: 'list', methods: ['GET'], pattern: ['V8', 'module', '{moduleName}'] },
  { name: 'get', methods: ['GET'], pattern: ['V8', 'module', '{moduleName}', '{id}'] },
  { name: 'create', methods: ['POST'], pattern: ['V8', 'module'] },
  { name: 'update', methods: ['PATCH'], pattern: ['V8', 'module'] },
  { name: 'delete', methods: ['DELETE'], pattern: ['V8', 'module', '{moduleName}', '{id}'] },
  { name: 'echo', methods: ANY, pattern: ['V8', 'custom', 'echo'] },
  { name: 'redirect', methods: ['GET'], pattern: ['V8', 'custom', 'redirect'] },
  { name: 'big', methods: ['GET'], pattern: ['V8', 'custom', 'big'] },
];

export type RouteMatch =
  | { kind: 'route'; name: RouteName; params: Record<string, string> }
  | { kind: 'not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

/**
 * Match `path` (no query) under any prefix, in both the rewritten form
 * (`/Api/V8/...`) and the PATH_INFO form (`/Api/index.php/V8/...`).
 */
export function matchRoute(prefixes: readonly string[], method: string, path: string): RouteMatch {
  const relative = stripPrefix(prefixes, path);
  if (relative === undefined) return { kind: 'not-found' };
  const segments = relative.split('/').slice(1);
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const params = matchPattern(route.pattern, segments);
    if (params === undefined) continue;
    // FastRoute answers HEAD with the GET route.
    if (route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'))) {
      return { kind: 'route', name: route.name, params };
    }
    allowed.push(...route.methods);
  }
  return allowed.length > 0 ? { kind: 'not-allowed', allowed: [...new Set(allowed)] } : { kind: 'not-found' };
}

function stripPrefix(prefixes: readonly string[], path: string): string | undefined {
  const bases = prefixes.flatMap((p) => [`${p}/index.php`, p]).sort((a, b) => b.length - a.length);
  const base = bases.find((b) => path.startsWith(`${b}/`));
  return base === undefined ? undefined : path.slice(base.length);
}

function matchPattern(pattern: readonly string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] ?? '';
    if (part.startsWith('{')) {
      if (segment === '') return undefined;
      params[part.slice(1, -1)] = safeDecode(segment);
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
