/**
 * Starting and stopping the processes under test: each one on a free loopback port, its output
 * in a log file (as a real deployment would write it), stopped by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

export interface Service {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Every service still running, so an interrupted benchmark leaves nothing behind. */
const running = new Set<Service>();

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop().catch(() => undefined)));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startService(name: string, command: string, args: string[], port: number, logDir: string, env: NodeJS.ProcessEnv = {}): Promise<Service> {
  const out = openSync(join(logDir, `${name}.log`), 'a');
  const child = spawn(command, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
  closeSync(out);
  let exited = false;
  child.once('exit', () => { exited = true; });
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`${name} exited during start-up; see ${join(logDir, `${name}.log`)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not listen on 127.0.0.1:${port} within 15 s; see ${join(logDir, `${name}.log`)}`);
    }
    await sleep(50);
  }
  const service: Service = {
    name, port, pid: child.pid ?? 0, child,
    stop: async () => {
      running.delete(service);
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
  running.add(service);
  return service;
}
