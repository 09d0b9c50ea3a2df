/**
 * Real redis-server processes for tests: each on its own free loopback port, no persistence,
 * stopped by pid. `.ci/run` installs Debian's redis-server; on CI (CI=true) a missing binary
 * fails the test, elsewhere the test is skipped with a message saying what to install.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';

const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export function redisServerInstalled(): boolean {
  return spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * True when the test can use redis-server. On CI a missing binary is an error (the test fails
 * and says so), locally the test is skipped with the install hint.
 */
export function needRedis(t: TestContext): boolean {
  if (redisServerInstalled()) return true;
  const message = `${BINARY} is not installed (Debian: apt-get install -y redis-server)`;
  if (process.env.CI === 'true') throw new Error(`${message}; .ci/run should have installed it`);
  t.skip(`${message}; skipping`);
  return false;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends PING and resolves true on +PONG; false on any failure. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** Starts the server (again) on the same port, with empty data. */
  start(): Promise<void>;
  /** SIGKILL: what a crash or a lost host looks like to clients. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts redis-server on `port` (default: a free one); `deferStart` leaves it stopped until start(). */
export async function startRedis(t?: TestContext, options: { port?: number; deferStart?: boolean } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'yes', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] });
    child = proc;
    for (let attempt = 0; attempt < 100; attempt++) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode} on port ${port}`);
      if (await ping(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server did not answer PING on port ${port} within 5 s`);
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill(signal);
    await exited;
  };

  if (!options.deferStart) await start();
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    start,
    kill: () => halt('SIGKILL'),
    stop: () => halt('SIGTERM'),
  };
  t?.after(() => server.stop());
  return server;
}

/** A plain client for looking into Redis from a test; closed after the test. */
export function adminClient(t: TestContext, url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => { /* the server is stopped at the end of the test */ });
  t.after(() => client.disconnect());
  return client;
}
