/**
 * Start-up loads only what the configuration uses (bench/README.md, start-up): a plain proxy
 * (settings from the environment, one process, tokens in memory, no PROXY_CLIENTS or
 * SUITECRM_CREDENTIALS) never loads ioredis, the YAML parser, Ajv, src/cluster/ or --check-config
 * (node:cluster itself is loaded by every listening server: node:net asks it who owns the port). Checked on the real process by the list of modules it has loaded once it
 * answers /_proxy/healthz; a configuration that uses each of them shows that the list sees them.
 * Which modules, not how fast: speed is measured by `npm run bench`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { startProxyProcess } from '../support/proxy-process.js';
import { until } from '../support/wait.js';

const PROBE = fileURLToPath(new URL('../support/loaded-modules-probe.js', import.meta.url));
const PLAIN = { SUITECRM_URL: 'http://127.0.0.1:9', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'Loaded-Modules-Secret-1' };

interface Loaded {
  /** npm packages with at least one file loaded. */
  readonly packages: ReadonlySet<string>;
  /** Files of the proxy's own dist/src/, relative to it. */
  readonly own: readonly string[];
}

function parse(text: string): Loaded {
  const scripts = JSON.parse(text) as string[];
  const packages = new Set<string>();
  const own: string[] = [];
  for (const url of scripts) {
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (pkg !== undefined) packages.add(pkg);
    else if (url.includes('/dist/src/')) own.push(url.slice(url.indexOf('/dist/src/') + '/dist/src/'.length));
  }
  return { packages, own };
}

/** Starts the proxy with the probe, waits for /_proxy/healthz, and returns what it has loaded by then. */
async function loadedBy(t: TestContext, env: Record<string, string>, dir: string): Promise<Loaded> {
  const file = join(dir, `loaded-${Math.random().toString(36).slice(2)}.json`);
  const proxy = await startProxyProcess({ ...env, LOADED_MODULES_FILE: file }, ['--import', PROBE]);
  t.after(() => {
    if (proxy.child.exitCode === null && proxy.child.signalCode === null) proxy.child.kill('SIGKILL');
  });
  const health = await fetch(`${proxy.url}/_proxy/healthz`);
  assert.equal(health.status, 200);
  proxy.child.kill('SIGUSR2');
  await until('the loaded-module list', () => existsSync(file));
  return parse(readFileSync(file, 'utf8'));
}

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'loaded-modules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a plain configuration loads no Redis client, YAML parser, Ajv, PROXY_WORKERS code or --check-config', async (t) => {
  const loaded = await loadedBy(t, PLAIN, scratch(t));
  // The list sees what every proxy needs.
  for (const pkg of ['fastify', '@fastify/http-proxy', 'undici', 'pino']) assert.ok(loaded.packages.has(pkg), `${pkg} is loaded`);
  assert.ok(loaded.own.includes('app.js'));
  for (const pkg of ['ioredis', 'yaml', 'ajv', '@fastify/ajv-compiler', 'ajv-formats', '@fastify/fast-json-stringify-compiler']) {
    assert.ok(!loaded.packages.has(pkg), `${pkg} is not loaded`);
  }
  const unused = loaded.own.filter((file) => file.startsWith('cluster/') || file.startsWith('suitecrm-token/shared/') || file === 'cli/check-config.js');
  assert.deepEqual(unused, []);
});

test('each of them is loaded when the configuration uses it', async (t) => {
  const dir = scratch(t);
  const configFile = join(dir, 'proxy.yaml');
  writeFileSync(configFile, [
    'TOKEN_STORE: redis',
    // Nothing listens there: the store falls back to memory, the module is loaded all the same.
    'REDIS_URL: redis://127.0.0.1:9',
    `TOKEN_STORE_KEY: ${'ab'.repeat(32)}`,
    'PROXY_CLIENTS:',
    '  - name: reporting',
    `    key: ${'k'.repeat(32)}`,
    '',
  ].join('\n'));
  const loaded = await loadedBy(t, { ...PLAIN, CONFIG_FILE: configFile, PROXY_WORKERS: '2' }, dir);
  for (const pkg of ['ioredis', 'yaml', 'ajv']) assert.ok(loaded.packages.has(pkg), `${pkg} is loaded`);
  assert.ok(loaded.own.includes('cluster/primary.js'));
});
