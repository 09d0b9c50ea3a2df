/**
 * The container HEALTHCHECK script, run as a real process against a real proxy on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';

const SCRIPT = fileURLToPath(new URL('../../src/cli/healthcheck.js', import.meta.url));

function healthcheck(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (err, _stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr: String(stderr) });
    });
  });
}

test('healthcheck exits 0 against a live proxy (wildcard host probed via loopback), 1 when nothing listens', async (t) => {
  // SuiteCRM is never contacted: liveness does not depend on it.
  const config = loadConfig({ SUITECRM_URL: 'http://127.0.0.1:9', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'x', PROXY_PORT: '0' });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  assert.equal((await healthcheck({ PROXY_HOST: '0.0.0.0', PROXY_PORT: String(port) })).code, 0);
  assert.equal((await healthcheck({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port) })).code, 0);

  // PROXY_PORT from CONFIG_FILE, as the proxy itself would read it.
  const dir = mkdtempSync(join(tmpdir(), 'healthcheck-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `PROXY_PORT: ${port}\n`);
  assert.equal((await healthcheck({ PROXY_HOST: '127.0.0.1', CONFIG_FILE: file })).code, 0);

  await app.close();
  const down = await healthcheck({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port) });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /ECONNREFUSED/);
});
