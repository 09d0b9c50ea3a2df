/**
 * Settings from a config file (`--config FILE` or `CONFIG_FILE`): JSON or YAML holding the
 * same settings under their environment names. The file only supplies raw strings; load.ts
 * validates them exactly as it validates environment variables, so both give the same errors.
 */
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type Env, type FileReader } from './load.js';
import { SETTINGS, type SettingSpec } from './settings.js';
// Settings whose value is JSON may be written as YAML/JSON structures (PROXY_CLIENTS as a list of
// callers, SUITECRM_CREDENTIALS as a mapping) and are handed to the loader as JSON text.
import { anchorFilePathsInText, JSON_SETTINGS } from './file-paths.js';

export const CONFIG_FILE_SETTING = 'CONFIG_FILE';

/**
 * The YAML parser, loaded the first time a config file is read: most proxies are configured by
 * their environment alone and never need it. A synchronous require (yaml is CommonJS) because
 * the configuration, at start-up and on every reload, is read synchronously.
 */
let yaml: typeof import('yaml') | undefined;
const requireHere = createRequire(import.meta.url);
function yamlParser(): typeof import('yaml') {
  return (yaml ??= requireHere('yaml') as typeof import('yaml'));
}

const FILE_SUFFIX = '_FILE';


/** Keys a config file may hold: every setting and its `<NAME>_FILE` form (as in the environment). */
function allowedKeys(): Map<string, SettingSpec> {
  const keys = new Map<string, SettingSpec>();
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    if (spec.env === CONFIG_FILE_SETTING) continue;
    keys.set(spec.env, spec);
    keys.set(`${spec.env}${FILE_SUFFIX}`, spec);
  }
  return keys;
}

/** `suitecrmUrl` or `suitecrm-url` -> `SUITECRM_URL`, to suggest the right spelling. */
function envSpelling(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-.\s]/g, '_').toUpperCase();
}

function unknownKey(key: string, path: string, keys: Map<string, SettingSpec>): ConfigError {
  const suggestion = keys.has(envSpelling(key)) ? `; did you mean ${envSpelling(key)}?` : '';
  return new ConfigError(CONFIG_FILE_SETTING, `${path}: unknown setting ${JSON.stringify(key)}${suggestion} (keys are the environment variable names that --help lists)`);
}

function scalarText(key: string, value: unknown, spec: SettingSpec, path: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (JSON_SETTINGS.has(spec.env)) return JSON.stringify(value);
  if (Array.isArray(value) && spec.type === 'list' && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    return value.join(',');
  }
  throw new ConfigError(key, `${path}: expected a single value, not ${Array.isArray(value) ? 'a list' : 'a mapping'}`);
}

/**
 * Reads and parses a config file into env-style raw values. Relative `<NAME>_FILE` paths, and the
 * relative `*File` paths inside PROXY_CLIENTS and SUITECRM_CREDENTIALS, are resolved against the
 * config file's directory, so a config and its secrets can move together.
 */
export function readConfigFile(path: string, readFile: FileReader): Record<string, string> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(CONFIG_FILE_SETTING, `cannot read config file ${path} (${reason})`);
  }
  // JSON is a subset of YAML 1.2, so one parser serves both formats with the same messages.
  const doc = yamlParser().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const where = firstError.linePos?.[0] ? ` line ${firstError.linePos[0].line}` : '';
    // Only the error's first line: the rest is a source excerpt that could show a secret.
    const message = firstError.message.split('\n', 1)[0]?.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(CONFIG_FILE_SETTING, `${path}${where}: not valid JSON or YAML (${message})`);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(CONFIG_FILE_SETTING, `${path}: expected a mapping of setting names to values at the top level`);
  }
  const keys = allowedKeys();
  const values: Record<string, string> = {};
  // Relative file paths in the file are read from its folder.
  const dir = dirname(resolve(path));
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const spec = keys.get(key);
    if (!spec) throw unknownKey(key, path, keys);
    const text = scalarText(key, value, spec, path);
    if (text === undefined) continue;
    if (key.endsWith(FILE_SUFFIX)) values[key] = isAbsolute(text) ? text : resolve(dir, text);
    else values[key] = JSON_SETTINGS.has(key) ? anchorFilePathsInText(text, dir) : text;
  }
  return values;
}

/**
 * The environment on top of the file: a setting given in the environment, directly or as
 * `<NAME>_FILE`, replaces both forms from the file.
 */
export function overlayEnv(fromFile: Readonly<Record<string, string>>, env: Env): Env {
  const isSet = (name: string): boolean => env[name] !== undefined && env[name] !== '';
  const merged: Record<string, string | undefined> = { ...env };
  for (const [key, value] of Object.entries(fromFile)) {
    const setting = key.endsWith(FILE_SUFFIX) ? key.slice(0, -FILE_SUFFIX.length) : key;
    if (isSet(setting) || isSet(`${setting}${FILE_SUFFIX}`)) continue;
    merged[key] = value;
  }
  return merged;
}
