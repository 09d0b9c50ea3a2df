/**
 * A proxy replica as a real process: `node dist/src/main.js` with the given environment, on a
 * loopback port it picks itself (read from its "Server listening" log line). Every stdout line
 * is kept as parsed JSON so tests can look at events and grep for secrets. Stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface ProxyReplica {
  readonly url: string;
  readonly pid: number | undefined;
  /** Every stdout line, raw. */
  readonly lines: string[];
  /** Parsed log records with this `event`, from stdout line `fromLine` on. */
  events(event: string, fromLine?: number): Array<Record<string, unknown>>;
  /** Resolves when a log record with this event appears after `fromLine` (bounded by `timeoutMs`). */
  waitForEvent(event: string, fromLine: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startProxyReplica(env: Record<string, string>, startTimeoutMs = 20_000): Promise<ProxyReplica> {
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PROXY_HOST: '127.0.0.1', PROXY_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const parsed: Array<Record<string, unknown>> = [];
  const lineListeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    try {
      parsed.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      parsed.push({});
    }
    for (const listener of lineListeners) listener();
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));

  const waitFor = (match: (record: Record<string, unknown>) => boolean, fromLine: number, timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const check = (): boolean => parsed.slice(fromLine).some(match);
      if (check()) return resolve(true);
      const finish = (found: boolean): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
        lineListeners.delete(onLine);
        resolve(found);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const onExit = (): void => finish(check());
      const onLine = (): void => { if (check()) finish(true); };
      child.once('exit', onExit);
      lineListeners.add(onLine);
    });

  const listening = await waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('Server listening at'), 0, startTimeoutMs);
  const record = parsed.find((r) => typeof r.msg === 'string' && r.msg.startsWith('Server listening at'));
  if (!listening || record === undefined) {
    child.kill('SIGKILL');
    throw new Error(`proxy did not start: ${stderr.join('').slice(0, 500)}`);
  }
  const url = String(record.msg).replace('Server listening at ', '').trim();

  return {
    url,
    get pid() { return child.pid; },
    lines,
    events: (event, fromLine = 0) => parsed.slice(fromLine).filter((r) => r.event === event),
    waitForEvent: (event, fromLine, timeoutMs) => waitFor((r) => r.event === event, fromLine, timeoutMs),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `count` replicas with one environment, started side by side and stopped after the test; throws if one did not start. */
export async function startReplicas(t: TestContext, env: Record<string, string>, count = 3): Promise<ProxyReplica[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startProxyReplica(env)));
  const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  t.after(() => Promise.all(replicas.map((r) => r.stop())));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return replicas;
}
