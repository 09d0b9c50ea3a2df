#!/usr/bin/env node
/**
 * Container HEALTHCHECK: GET /_proxy/healthz on the proxy's own port and exit 0 or 1.
 * Written in node so the image needs neither curl nor wget. It reads PROXY_HOST and
 * PROXY_PORT the way the proxy does (environment over CONFIG_FILE over defaults).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { ADMIN_PREFIX } from '../security/own-paths.js';
import { CONFIG_FILE_SETTING, overlayEnv, readConfigFile } from '../config/file.js';
import type { Env } from '../config/load.js';
import { SETTINGS, type SettingSpec } from '../config/settings.js';

const TIMEOUT_MS = 3000;

function setting(env: Env, name: string): string {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  return (SETTINGS as readonly SettingSpec[]).find((s) => s.env === name)?.default ?? '';
}

/** A wildcard listen address is reached through loopback. */
function probeHost(listenHost: string): string {
  if (listenHost === '' || listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::' || listenHost === '[::]') return '::1';
  return listenHost.replace(/^\[(.*)\]$/, '$1');
}

function probe(env: Env): Promise<number> {
  const host = probeHost(setting(env, 'PROXY_HOST'));
  const port = Number(setting(env, 'PROXY_PORT'));
  return new Promise((resolve) => {
    const req = request({ host, port, path: `${ADMIN_PREFIX}/healthz`, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? 0 : 1);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => {
      process.stderr.write(`healthcheck: ${host}:${port}: ${err.message}\n`);
      resolve(1);
    });
    req.end();
  });
}

const configPath = process.env[CONFIG_FILE_SETTING] || undefined;
let env: Env = process.env;
try {
  if (configPath) env = overlayEnv(readConfigFile(configPath, (p) => readFileSync(p, 'utf8')), process.env);
} catch (err) {
  process.stderr.write(`healthcheck: ${(err as Error).message}\n`);
}
process.exitCode = await probe(env);
