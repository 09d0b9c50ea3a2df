/**
 * Command-line handling: --help, --version, --config FILE, --check-config. Returns either the
 * environment the proxy should start with (config file merged under the real environment) or
 * an exit code, so main.ts stays a few lines and tests can drive this without a process.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderHelp } from '../config/docs.js';
import { CONFIG_FILE_SETTING, overlayEnv, readConfigFile } from '../config/file.js';
import { ConfigError, type Env, type FileReader } from '../config/load.js';

export const PROGRAM = 'suitecrm-auth-proxy';

export type CliOutcome =
  /** `env`: the environment with the config file merged under it; `configPath`, for reloads, the file it came from. */
  | { readonly run: true; readonly env: Env; readonly configPath: string | undefined }
  | { readonly run: false; readonly exitCode: number };

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: FileReader;
}

const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFileSync(path, 'utf8'),
};

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  'check-config': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

const OPTION_HELP: ReadonlyArray<readonly [string, string]> = [
  ['-c, --config FILE', `Read settings from a JSON or YAML file whose keys are the setting names below (same as ${CONFIG_FILE_SETTING}). Environment variables override the file.`],
  ['--check-config', 'Validate the settings, request one token, call the V8 API once with it, print what was found (never a secret) and exit 0 if all worked, 1 if not.'],
  ['-h, --help', 'Print this help and exit.'],
  ['-v, --version', 'Print the version and exit.'],
];

const DESCRIPTION = 'Local authenticating reverse proxy for the SuiteCRM V8 JSON:API: obtains, caches, refreshes and injects OAuth2 tokens, so callers send plain HTTP to it.';

const EXIT_CODES = 'Exit codes: 0 success; 1 --check-config found a problem, or a failure while running; 2 invalid settings or command-line options (one line on stderr names the setting).';

/** The package version, read from the package.json shipped next to dist/. */
export function version(readFile: FileReader = processIO.readFile): string {
  const pkg = JSON.parse(readFile(fileURLToPath(new URL('../../../package.json', import.meta.url)))) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export function helpText(): string {
  return renderHelp({ program: PROGRAM, description: DESCRIPTION, options: OPTION_HELP, epilog: EXIT_CODES });
}

export async function runCli(argv: readonly string[], env: Env, io: CliIO = processIO): Promise<CliOutcome> {
  let values: { config?: string; 'check-config'?: boolean; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    io.stderr(`${PROGRAM}: ${(err as Error).message}; see ${PROGRAM} --help\n`);
    return { run: false, exitCode: 2 };
  }
  if (values.help) {
    io.stdout(helpText());
    return { run: false, exitCode: 0 };
  }
  if (values.version) {
    io.stdout(`${PROGRAM} ${version(io.readFile)}\n`);
    return { run: false, exitCode: 0 };
  }
  const checking = values['check-config'] === true;
  const configPath = values.config ?? (env[CONFIG_FILE_SETTING] || undefined);
  let fileValues: Record<string, string> = {};
  try {
    if (configPath !== undefined) fileValues = readConfigFile(configPath, io.readFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${PROGRAM}: invalid configuration: ${err.message}\n`);
    return { run: false, exitCode: checking ? 1 : 2 };
  }
  const merged = overlayEnv(fileValues, env);
  if (checking) {
    // Only --check-config needs it: a proxy that starts never loads it.
    const { checkConfig } = await import('./check-config.js');
    const exitCode = await checkConfig(
      { env, fileValues, configPath, merged, readFile: io.readFile },
      (line) => io.stdout(`${line}\n`),
      (line) => io.stderr(`${line}\n`),
    );
    return { run: false, exitCode };
  }
  return { run: true, env: merged, configPath };
}
