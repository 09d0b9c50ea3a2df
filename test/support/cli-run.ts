/** Runs the compiled CLI (`node dist/src/main.js ...`) to its end with only the environment given, and collects its output. */
import { spawn } from 'node:child_process';
import { MAIN_JS } from './proxy-process.js';

export interface Run { code: number | null; stdout: string; stderr: string }

export function runMain(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
