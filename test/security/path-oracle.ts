/**
 * How SuiteCRM's side could read a path, independent of the proxy's own guard: the oracle of the
 * property-based tests (fuzz.test.ts, spellings-property.test.ts).
 */

/** Decoded up to four times, does the path show a `.` or `..` segment (with `/` or `\` as separator)? */
export function climbsOut(path: string): boolean {
  let current = path;
  for (let round = 0; round < 5; round++) {
    if (current.split(/[/\\]/).some((s) => s === '.' || s === '..')) return true;
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return false;
    }
    if (next === current) return false;
    current = next;
  }
  return false;
}
