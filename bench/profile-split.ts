/**
 * Turns V8 CPU profiles into CPU time per request by function: each function's share of the
 * main thread's busy samples (self time), times the main thread's CPU per request. Two targets
 * measured under the same load (the proxy and bare) then show where each extra microsecond goes.
 */

export interface CpuProfile {
  readonly nodes: ReadonlyArray<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self samples per function key, and the busy (non-idle) sample count. */
export interface SampleCounts {
  readonly byFunction: Map<string, number>;
  busy: number;
}

export function emptyCounts(): SampleCounts {
  return { byFunction: new Map(), busy: 0 };
}

/** `node_modules/undici/lib/x.js` -> `undici/lib/x.js`; `.../dist/src/proxy/plugin.js` -> `src/proxy/plugin.js`. */
function shortUrl(url: string): string {
  const pkg = /node_modules\/(.*)$/.exec(url)?.[1];
  if (pkg !== undefined) return pkg;
  const own = /\/dist\/((?:src|bench)\/.*)$/.exec(url)?.[1];
  if (own !== undefined) return own;
  return url.replace(/^file:\/\//, '');
}

/** Where a function comes from: an npm package, our own code, a Node module, or V8 itself. */
export function categoryOf(key: string): string {
  const file = key.slice(key.lastIndexOf(' ') + 1);
  if (file.startsWith('src/')) return 'ours (dist/src)';
  if (file.startsWith('node:')) return /^node:internal\/(streams|http|net|stream_base|timers|async_hooks|process|url|util|event_target|events)/.test(file) || /^node:(_http|net|stream|events|buffer|timers|url|diagnostics_channel|async_hooks)/.test(file)
    ? `node ${(/^node:(?:internal\/)?([a-z_]+)/.exec(file)?.[1] ?? 'other')}` : 'node other';
  const pkg = /^((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
  if (pkg !== undefined) return pkg;
  return key.startsWith('(garbage collector)') ? 'V8 garbage collector' : key.startsWith('(program)') ? 'V8/native (program)' : 'native';
}

export function addProfile(counts: SampleCounts, profile: CpuProfile): void {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const id of profile.samples) {
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)') continue;
    const where = frame.url === '' ? '' : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    counts.byFunction.set(key, (counts.byFunction.get(key) ?? 0) + 1);
    counts.busy += 1;
  }
}

/** µs per request per key, given the main thread's CPU per request. */
export function perRequest(counts: SampleCounts, cpuUsPerRequest: number, group: (key: string) => string = (k) => k): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, n] of counts.byFunction) {
    const g = group(key);
    out.set(g, (out.get(g) ?? 0) + (n / Math.max(1, counts.busy)) * cpuUsPerRequest);
  }
  return out;
}

/** Rows `key, a, b, a - b`, largest difference first. */
export function compareRows(a: Map<string, number>, b: Map<string, number>, limit: number): Array<[string, number, number, number]> {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].map((k): [string, number, number, number] => [k, a.get(k) ?? 0, b.get(k) ?? 0, (a.get(k) ?? 0) - (b.get(k) ?? 0)])
    .sort((x, y) => Math.abs(y[3]) - Math.abs(x[3])).slice(0, limit);
}
