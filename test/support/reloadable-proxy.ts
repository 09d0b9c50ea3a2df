/**
 * The proxy app with a Reloader over a YAML config file, without a watcher or signal handler, so
 * a reload test drives each reload itself: rewrite the file, call `reloader.reload(...)`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reloader } from '../../src/reload/reloader.js';
import { readSnapshot, type ConfigSource } from '../../src/reload/snapshot.js';
import { startProxy, type RunningProxy } from './proxy-harness.js';

const readText = (path: string): string => readFileSync(path, 'utf8');

export interface ReloadableProxy {
  readonly proxy: RunningProxy;
  readonly reloader: Reloader;
  readonly configPath: string;
}

/** Settings are written as YAML values (JSON text is valid YAML, structures included). */
export function writeConfig(configPath: string, settings: Record<string, unknown>): void {
  writeFileSync(configPath, Object.entries({ LOG_LEVEL: 'debug', ...settings }).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n'));
}

export async function reloadableProxy(suitecrmUrl: string, dir: string, name: string, settings: Record<string, unknown>): Promise<ReloadableProxy> {
  const configPath = join(dir, `${name}.yaml`);
  writeConfig(configPath, settings);
  // Only what the file does not set: the environment would override the file, reloads included.
  const source: ConfigSource = { env: { SUITECRM_URL: suitecrmUrl, PROXY_PORT: '0' }, configPath };
  const initial = readSnapshot(source, readText);
  // Empty values override the harness's defaults, as unset ones.
  const proxy = await startProxy(suitecrmUrl, { SUITECRM_CLIENT_ID: '', SUITECRM_CLIENT_SECRET: '', ...initial.env as Record<string, string>, CONFIG_FILE: '' });
  const { app } = proxy;
  const reloader = new Reloader({
    initial, read: (files) => readSnapshot(source, readText, files), logger: app.log,
    targets: [app.reload.app, app.reload.credentials!],
    onAttempt: (result) => { if (result.outcome !== 'unchanged') app.reload.app.recordOutcome(result.outcome); },
  });
  app.reload.credentials!.onRejectedReread(async () => { await reloader.reload('credentials_rejected'); });
  return { proxy, reloader, configPath };
}
