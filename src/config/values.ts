/**
 * From the environment to one typed value per setting: the `<NAME>_FILE` indirection for
 * secrets, the defaults of the settings table, and one parser per setting type. Rules that
 * span several settings are load.ts's.
 */
import { secretFileText } from './secret-text.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { anchorFilePathsInText, JSON_SETTINGS } from './file-paths.js';
import { SETTINGS, type SettingName, type SettingSpec } from './settings.js';

/** A bad setting: the message names it and says what is expected, never echoing a secret. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;
export type FileReader = (path: string) => string;

export const readText: FileReader = (path) => readFileSync(path, 'utf8');

/** Raw string values by env name, after resolving `<NAME>_FILE` indirections. */
function rawValues(env: Env, readFile: FileReader): Map<string, string> {
  const values = new Map<string, string>();
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const direct = env[spec.env];
    const filePath = env[`${spec.env}_FILE`];
    if (direct !== undefined && direct !== '' && filePath) {
      throw new ConfigError(spec.env, `set either ${spec.env} or ${spec.env}_FILE, not both`);
    }
    if (filePath) {
      let text: string;
      try {
        text = readFile(filePath);
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
        throw new ConfigError(`${spec.env}_FILE`, `cannot read file ${filePath} (${reason})`);
      }
      // Relative paths inside a JSON setting's file are read from that file's folder (file-paths.ts).
      values.set(spec.env, JSON_SETTINGS.has(spec.env) ? anchorFilePathsInText(secretFileText(text), dirname(resolve(filePath))) : secretFileText(text));
    } else if (direct !== undefined && direct !== '') {
      values.set(spec.env, direct);
    } else if (spec.default !== undefined) {
      values.set(spec.env, spec.default);
    }
  }
  return values;
}

function describe(spec: SettingSpec, value: string): string {
  return spec.secret ? 'the given value' : JSON.stringify(value);
}

function parseNumber(spec: SettingSpec, value: string, integer: boolean): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new ConfigError(spec.env, `expected ${integer ? 'a whole number' : 'a number'}, got ${describe(spec, value)}`);
  }
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    throw new ConfigError(spec.env, `must be between ${spec.min} and ${spec.max}, got ${n}`);
  }
  return n;
}

function parseUrl(spec: SettingSpec, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(spec.env, `expected an absolute http(s) URL such as https://crm.example.com, got ${describe(spec, value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(spec.env, `expected an http or https URL, got protocol ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new ConfigError(spec.env, 'must not contain credentials; use SUITECRM_CLIENT_ID and SUITECRM_CLIENT_SECRET');
  }
  if (url.search || url.hash) {
    throw new ConfigError(spec.env, 'must not contain a query string or fragment');
  }
  // Normalise away a trailing slash so that `${base}${path}` never doubles it.
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

export type Parsed = string | number | boolean | URL | undefined;

function parseValue(spec: SettingSpec, value: string | undefined): Parsed {
  if (value === undefined) return undefined;
  switch (spec.type) {
    case 'url':
      return parseUrl(spec, value);
    case 'path':
      if (!value.startsWith('/') || /[\s?#]/.test(value)) {
        throw new ConfigError(spec.env, `expected a path starting with / (no spaces, query or fragment), got ${describe(spec, value)}`);
      }
      return value;
    case 'enum':
      if (!spec.choices?.includes(value)) {
        throw new ConfigError(spec.env, `expected one of ${spec.choices?.join(', ')}, got ${describe(spec, value)}`);
      }
      return value;
    case 'int':
      return parseNumber(spec, value, true);
    case 'seconds':
      return parseNumber(spec, value, false);
    case 'bool': {
      const v = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(spec.env, `expected true or false, got ${describe(spec, value)}`);
    }
    default:
      return value;
  }
}

/** Parses and validates every setting; throws ConfigError naming the first bad one. */
export function parseSettings(env: Env, readFile: FileReader = readText): Map<SettingName, Parsed> {
  const raw = rawValues(env, readFile);
  const parsed = new Map<SettingName, Parsed>();
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    parsed.set(spec.env as SettingName, parseValue(spec, raw.get(spec.env)));
  }
  return parsed;
}

export function required(parsed: ReadonlyMap<SettingName, Parsed>, name: SettingName, why: string): string {
  const value = parsed.get(name);
  if (typeof value !== 'string' || value === '') throw new ConfigError(name, `is required ${why}`);
  return value;
}
