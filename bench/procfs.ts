/**
 * Process CPU time and memory from /proc (Linux), summed over a process and its children so a
 * PROXY_WORKERS group or an nginx master with workers counts as one proxy.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** The fields of a /proc stat file after the command name, or undefined once the process or thread is gone. */
function readStat(path: string): string[] | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    // The command name (field 2) may contain spaces: split after its closing parenthesis.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The pid and every descendant still alive. */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const fields = readStat(`/proc/${pid}/stat`);
    if (fields !== undefined) parentOf.set(pid, Number(fields[1]));
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === tree[i]) tree.push(pid);
  }
  return tree.filter((pid) => parentOf.has(pid));
}

/** User + system CPU time in microseconds, summed over the process tree. */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readStat(`/proc/${pid}/stat`);
    if (fields !== undefined) ticks += cpuTicks(fields);
  }
  return (ticks * 1e6) / CLOCK_TICKS;
}

/** After the command name: state(0) ppid(1) ... utime(11) stime(12). */
function cpuTicks(fields: readonly string[]): number {
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * User + system CPU time in microseconds of one thread (default: the main thread), not of the
 * whole process: e.g. without the CPU profiler's own thread and V8's helpers. Throws when the
 * thread is gone.
 */
export function threadCpuMicros(pid: number, tid = pid): number {
  const path = `/proc/${pid}/task/${tid}/stat`;
  const fields = readStat(path);
  if (fields === undefined) throw new Error(`cannot read ${path}: the thread is gone`);
  return (cpuTicks(fields) * 1e6) / CLOCK_TICKS;
}

/** Resident set size in bytes, summed over the process tree. */
export function rssBytes(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match?.[1]) kib += Number(match[1]);
    } catch {
      /* the process is gone */
    }
  }
  return kib * 1024;
}

/** The 1-minute load average, as `uptime` shows it. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
