/**
 * Runs the compiled proxy as a real process (`node dist/src/main.js`), the way users run it,
 * with only the environment given here, and reads its JSON log lines from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { until } from './wait.js';

export const MAIN_JS = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface ProxyProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` once listening. */
  readonly url: string;
  readonly port: number;
  /** Parsed log lines so far. */
  logs(): Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Waits for a log line with this `event`. */
  waitForEvent(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** `nodeArgs` go before the script (e.g. `--import` a probe). */
export async function startProxyProcess(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [...nodeArgs, MAIN_JS], {
    env: { PATH: process.env.PATH ?? '', PROXY_HOST: '127.0.0.1', PROXY_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  let errText = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    errText += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  const listening = (): Record<string, unknown> | undefined => lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at'));
  await until('the proxy to listen', () => {
    if (exitedEarly) throw new Error(`the proxy exited before listening: ${errText}`);
    return listening() !== undefined;
  });
  const url = String(listening()!.msg).replace('Server listening at ', '');
  const find = (event: string) => lines.find((l) => l.event === event);
  return {
    child,
    url,
    port: Number(new URL(url).port),
    logs: () => lines,
    stderr: () => errText,
    exited,
    async waitForEvent(event, timeoutMs) {
      await until(`log event ${event}`, () => find(event) !== undefined, timeoutMs);
      return find(event)!;
    },
  };
}
