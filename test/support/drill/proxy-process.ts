/**
 * The compiled proxy as a real process (`node dist/src/main.js`), the way users run it: its own
 * event loop, its own sockets, real signals. The port is chosen here (listen on 0, read it, close)
 * because PROXY_PORT=0 is not visible from outside; readiness is GET /_proxy/healthz.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const MAIN_JS = fileURLToPath(new URL('../../../src/main.js', import.meta.url));

export interface ProxyProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Log lines with an `event` field or level warn and above (request lines are only counted). */
  readonly events: Array<Record<string, unknown>>;
  /** Request log lines seen so far, by status. */
  readonly requestLines: Map<number, number>;
  stderr(): string;
  /** Resolves when the process has ended, with its exit code or signal name. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

export interface SpawnOptions {
  /** Extra node flags before the script, e.g. ['--import', samplerUrl]. */
  readonly nodeArgs?: readonly string[];
  /** How long to wait for /_proxy/healthz. Generous: the machine may be busy. */
  readonly readyTimeoutMs?: number;
}

/** A port that was free a moment ago. The bind race is handled by retrying in spawnProxyProcess. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const SPAWN_ATTEMPTS = 3;

export async function spawnProxyProcess(env: Record<string, string>, options: SpawnOptions = {}): Promise<ProxyProcess> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= SPAWN_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await spawnOnPort(port, env, options);
    } catch (err) {
      // Most likely someone took the port between freePort() and the proxy's listen(): try another.
      lastError = err;
    }
  }
  throw lastError;
}

async function spawnOnPort(port: number, env: Record<string, string>, options: SpawnOptions): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN_JS], {
    // Only what is given: the proxy must not pick up settings from the developer's shell.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  const requestLines = new Map<number, number>();
  let pending = '';
  let errText = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        events.push({ unparsed: line });
        continue;
      }
      if (parsed.msg === 'request' && typeof parsed.status === 'number') {
        requestLines.set(parsed.status, (requestLines.get(parsed.status) ?? 0) + 1);
      } else if (parsed.event !== undefined || (typeof parsed.level === 'number' && parsed.level >= 40)) {
        events.push(parsed);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    errText += chunk;
  });
  let ended = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (ended) throw new Error(`the proxy exited before it was healthy (exit ${String(await exited)}): ${errText.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the proxy did not answer /_proxy/healthz within ${options.readyTimeoutMs ?? 20_000} ms: ${errText.trim()}`);
    }
    try {
      const res = await fetch(`${url}/_proxy/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stop = async (graceMs = 10_000): Promise<number | string> => {
    if (!ended) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  return { child, url, port, events, requestLines, stderr: () => errText, exited, stop };
}
