/**
 * One reading of the whole configuration: the config file, the environment on top of it, and
 * every file the settings point at (`<NAME>_FILE`, PROXY_CLIENTS key files, the CA bundle),
 * validated by loadConfig exactly as at start-up. The files' contents are kept so PROXY_WORKERS
 * workers can load the very same configuration (no second read that could race a rotation) and
 * so the watcher knows which files to look at.
 */
import { createHash } from 'node:crypto';
import { CONFIG_FILE_SETTING, overlayEnv, readConfigFile } from '../config/file.js';
import { ConfigError, loadConfig, parseSettings, type Config, type Env, type FileReader } from '../config/load.js';
import type { SettingName } from '../config/settings.js';

/** Where the configuration comes from: the process environment and the config file named by --config or CONFIG_FILE. */
export interface ConfigSource {
  readonly env: Env;
  readonly configPath: string | undefined;
}

export interface ConfigSnapshot {
  readonly config: Config;
  /** Every setting's parsed value, to tell which settings changed. */
  readonly settings: ReadonlyMap<SettingName, unknown>;
  /** The merged environment loadConfig saw (file under environment). */
  readonly env: Env;
  /** Path -> content of every file read, the config file included. */
  readonly files: ReadonlyMap<string, string>;
}

/** Stands for a file that could not be read, so its appearing counts as a change. */
export const UNREADABLE = '\0unreadable';

/** A FileReader that remembers what it read (and what it could not). */
function recordingReader(readFile: FileReader, files: Map<string, string>): FileReader {
  return (path) => {
    try {
      const text = readFile(path);
      files.set(path, text);
      return text;
    } catch (err) {
      files.set(path, UNREADABLE);
      throw err;
    }
  };
}

/**
 * Reads and validates everything; throws ConfigError naming the first bad setting. `files`
 * collects what was read, also when it throws, so a broken file is watched until it is fixed.
 */
export function readSnapshot(source: ConfigSource, readFile: FileReader, files = new Map<string, string>()): ConfigSnapshot {
  const reader = recordingReader(readFile, files);
  const configPath = source.configPath ?? (source.env[CONFIG_FILE_SETTING] || undefined);
  const fromFile = configPath === undefined ? {} : readConfigFile(configPath, reader);
  const env = overlayEnv(fromFile, source.env);
  return fromEnv(env, reader, files);
}

/** The same configuration again from a snapshot's environment and file contents (a worker's copy). */
export function replaySnapshot(env: Env, files: ReadonlyMap<string, string>): ConfigSnapshot {
  const reader: FileReader = (path) => {
    const text = files.get(path);
    if (text === undefined) throw Object.assign(new Error('not in the snapshot'), { code: 'ENOENT' });
    return text;
  };
  return fromEnv(env, reader, new Map(files));
}

function fromEnv(env: Env, reader: FileReader, files: Map<string, string>): ConfigSnapshot {
  const config = loadConfig(env, reader);
  // Parsed again from the files just read: the values are the ones loadConfig validated.
  const settings = parseSettings(env, (path) => {
    const text = files.get(path);
    if (text === undefined) throw new ConfigError('CONFIG_FILE', `${path} changed while it was read`);
    return text;
  });
  return { config, settings, env, files };
}

/** A digest of every file's content, to notice a change without keeping secrets around twice. */
export function filesDigest(files: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const [path, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) hash.update(`${path}\0${text}\0`);
  return hash.digest('hex');
}
