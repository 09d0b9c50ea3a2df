/**
 * Where a relative `*File` path inside PROXY_CLIENTS or SUITECRM_CREDENTIALS (keyFile,
 * clientSecretFile, passwordFile, refreshTokenFile, and their snake_case spellings) is read from:
 * the folder of the file it is written in (the config file, or the file PROXY_CLIENTS_FILE or
 * SUITECRM_CREDENTIALS_FILE names), so a configuration and its secrets can move together. Only a
 * path written in an environment variable itself is read from the working directory.
 *
 * The paths are made absolute in the setting's JSON text, before it is validated, so every
 * reader of the configuration (a reload, a PROXY_WORKERS worker, --check-config) sees the same.
 */
import { isDeepStrictEqual } from 'node:util';
import { isAbsolute, resolve } from 'node:path';
import { isObject } from './json-schema.js';

/** Settings whose value is JSON holding entries with `*File` fields. */
export const JSON_SETTINGS: ReadonlySet<string> = new Set(['PROXY_CLIENTS', 'SUITECRM_CREDENTIALS']);

const FILE_FIELD = /(?:File|_file)$/;

function anchorEntry(entry: unknown, dir: string): unknown {
  if (!isObject(entry)) return entry;
  return Object.fromEntries(Object.entries(entry).map(([field, value]) =>
    [field, FILE_FIELD.test(field) && typeof value === 'string' && value !== '' && !isAbsolute(value) ? resolve(dir, value) : value]));
}

/** The setting's entries (a list, or a mapping by name) with relative file paths made absolute against `dir`. */
export function anchorFilePaths(value: unknown, dir: string): unknown {
  if (Array.isArray(value)) return value.map((entry) => anchorEntry(entry, dir));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([name, entry]) => [name, anchorEntry(entry, dir)]));
  return value;
}

/** The same for the setting's JSON text; text that is not JSON, or needs nothing, is returned as it is. */
export function anchorFilePathsInText(text: string, dir: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  const anchored = anchorFilePaths(parsed, dir);
  return isDeepStrictEqual(parsed, anchored) ? text : JSON.stringify(anchored);
}
