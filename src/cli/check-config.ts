/**
 * `--check-config`: the first thing to run when something is wrong. Validates the settings, finds
 * SuiteCRM's API as the proxy does at start-up, then for every SuiteCRM credential sends one token
 * request and calls one V8 endpoint with the token, and prints what it found, one line per step.
 * Prints setting names and non-secret values only: never a secret or a token.
 */
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { request, type Pool } from 'undici';
import { ConfigError, credentialConfig, loadConfig, type Config, type CredentialConfig, type Env, type FileReader } from '../config/load.js';
import { credentialField } from '../config/suitecrm-credentials.js';
import { plainTextSecrets } from '../config/inline-secrets.js';
import { SETTINGS, type SettingSpec } from '../config/settings.js';
import { unreachableCode } from '../errors.js';
import { asCredentialError, requestToken, tokenEndpoint, TokenRequestError, type Token } from '../suitecrm-token/grant.js';
import { ApiDetectionError, detectApiBase, type ProbeOutcome } from '../upstream/api-detection.js';
import { configuredApiBase } from '../upstream/api-base.js';
import { tokenPool } from '../upstream/pools.js';
import { tlsWarnings } from '../upstream/tls.js';

export interface CheckInput {
  /** The process environment (without the config file). */
  readonly env: Env;
  /** Raw values read from the config file, if any. */
  readonly fileValues: Readonly<Record<string, string>>;
  readonly configPath: string | undefined;
  /** Environment and file merged, as the proxy would see them. */
  readonly merged: Env;
  readonly readFile?: FileReader;
}

export type Print = (line: string) => void;

/** The endpoint used to prove the token works: small, read-only, present in every V8 API. */
export const CHECK_API_PATH = '/V8/meta/modules';

function isSet(env: Env, name: string): boolean {
  return env[name] !== undefined && env[name] !== '';
}

/** Settings given explicitly (not defaults), with their source; secrets shown only as "set". */
function describeSettings(input: CheckInput, print: Print): void {
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const viaFile = `${spec.env}_FILE`;
    const name = isSet(input.merged, viaFile) ? viaFile : isSet(input.merged, spec.env) ? spec.env : undefined;
    if (name === undefined || spec.env === 'CONFIG_FILE') continue;
    const source = isSet(input.env, name) ? 'environment' : 'config file';
    const value = name === viaFile ? `${input.merged[name]}` : spec.secret ? '(secret, set)' : `${input.merged[name]}`;
    print(`  ${name}=${value}  [${source}]`);
  }
}

/**
 * Secrets written into the config file itself (not NAME_FILE, not a keyFile or clientSecretFile
 * inside PROXY_CLIENTS or SUITECRM_CREDENTIALS) deserve a warning, louder if others can read it.
 */
function warnAboutInlineSecrets(input: CheckInput, print: Print): void {
  if (input.configPath === undefined) return;
  const inline = plainTextSecrets(input.fileValues, (name) => isSet(input.env, name) || isSet(input.env, `${name}_FILE`));
  if (inline.length === 0) return;
  let readable = '';
  try {
    const mode = statSync(input.configPath).mode;
    if (mode & 0o044) readable = ` and the file is readable by ${mode & 0o004 ? 'every user' : 'its group'} (mode ${(mode & 0o777).toString(8)})`;
  } catch {
    // The file was read a moment ago; a failing stat only loses the mode detail.
  }
  print(`warning: ${input.configPath} holds ${inline.join(', ')} in plain text${readable}; prefer ${inline[0]}_FILE naming a file only the proxy can read`);
}

function printTls(config: Config, print: Print): void {
  if (config.suitecrmUrl.protocol !== 'https:') {
    print('tls: none (SUITECRM_URL uses http; tokens and credentials cross the network in clear text unless SuiteCRM is on this host)');
  } else if (config.suitecrmTlsInsecure) {
    print('tls: WARNING: SUITECRM_TLS_INSECURE=true, SuiteCRM\'s certificate is NOT verified');
  } else {
    print(`tls: certificates verified against the public CAs${config.suitecrmCa !== undefined ? ' and SUITECRM_CA_FILE' : ''}`);
  }
}

function describeProbes(tried: readonly ProbeOutcome[]): string {
  return tried.map((t) => `${t.apiBase}/access_token ${t.answer === 'oauth' ? 'answered as SuiteCRM\'s OAuth server' : t.answer}`).join(', ');
}

/** Where SuiteCRM's API is: SUITECRM_API_BASE, or found the way the proxy finds it at start-up. */
async function findApi(config: Config, pool: Pool, print: Print): Promise<string | undefined> {
  const origin = config.suitecrmUrl.origin;
  const configured = configuredApiBase(config);
  if (configured !== undefined) {
    print(`suitecrm: V8 API at ${origin}${configured} (SUITECRM_API_BASE, not detected)`);
    return configured;
  }
  try {
    const { apiBase, tried } = await detectApiBase({ ...config, timeoutMs: config.tokenRequestTimeoutMs }, pool);
    print(`suitecrm: V8 API at ${origin}${apiBase} (detected; POST ${describeProbes(tried)})`);
    return apiBase;
  } catch (err) {
    if (!(err instanceof ApiDetectionError)) throw err;
    // Without the API there is no token endpoint: reported as the failed token request it is.
    print(`suitecrm: V8 API not found under ${config.suitecrmUrl.href.replace(/\/$/, '')}${err.tried.length > 0 ? ` (POST ${describeProbes(err.tried)})` : ''}`);
    print(`token: FAILED (${err.failureClass}: ${err.reason}): ${err.detail}`);
    return undefined;
  }
}

async function tryToken(config: CredentialConfig, apiBase: string, pool: Pool, print: Print): Promise<Token | undefined> {
  const endpoint = tokenEndpoint(config, apiBase);
  print(`token: POST ${endpoint.href} (grant ${config.grantType}, ${config.tokenRequestFormat} body, client ${config.clientId}${config.username ? `, user ${config.username}` : ''})`);
  const started = performance.now();
  try {
    const token = await requestToken(config, endpoint, pool, { grant: config.grantType, refreshToken: config.refreshToken });
    const ms = Math.round(performance.now() - started);
    const ttl = token.expiresInReported
      ? `expires_in ${Math.round(token.lifetimeMs / 1000)} s`
      : `no usable expires_in; the proxy assumes ${Math.round(token.lifetimeMs / 1000)} s`;
    print(`token: ok in ${ms} ms; grant ${token.grant}; ${ttl}; refresh token ${token.refreshToken ? 'issued' : 'not issued'}`);
    return token;
  } catch (raw) {
    const err = asCredentialError(raw, config);
    if (!(err instanceof TokenRequestError)) throw err;
    const status = err.status !== undefined ? `, HTTP ${err.status}` : '';
    print(`token: FAILED (${err.failureClass}: ${err.reason}${status}): ${err.detail}`);
    return undefined;
  }
}

function apiVerdict(status: number, location: string | undefined): string {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 401) {
    return 'FAILED: SuiteCRM issued a token but the V8 API refused it; check that the web server passes the Authorization header to Api/ (.htaccess rewrite rules) and the OAuth2 key files';
  }
  if (status === 404) return 'FAILED: no V8 API at this path although its token endpoint answered; check SUITECRM_API_BASE and SUITECRM_TOKEN_PATH (unset, the proxy finds both under SUITECRM_URL)';
  if (status >= 300 && status < 400) return `FAILED: redirected to ${location ?? '(no location)'}; set SUITECRM_URL to the final address`;
  return `FAILED: SuiteCRM answered HTTP ${status}`;
}

async function tryApi(config: Config, apiBase: string, pool: Pool, token: Token, print: Print): Promise<boolean> {
  const url = new URL(`${apiBase}${CHECK_API_PATH}`, config.suitecrmUrl.origin);
  const started = performance.now();
  try {
    const response = await request(url, {
      method: 'GET',
      dispatcher: pool,
      headers: { authorization: token.authorization, accept: 'application/vnd.api+json' },
      headersTimeout: config.upstreamTimeoutMs,
      bodyTimeout: config.upstreamTimeoutMs,
      signal: AbortSignal.timeout(config.upstreamTimeoutMs),
    });
    await response.body.dump();
    const ms = Math.round(performance.now() - started);
    const location = typeof response.headers.location === 'string' ? response.headers.location : undefined;
    const verdict = apiVerdict(response.statusCode, location);
    print(`api: GET ${url.pathname} answered ${response.statusCode} in ${ms} ms: ${verdict}`);
    return verdict === 'ok';
  } catch (err) {
    const code = unreachableCode(err);
    print(`api: GET ${url.pathname} FAILED (${code}); check SUITECRM_URL, UPSTREAM_TIMEOUT_SECONDS and that SuiteCRM is up`);
    return false;
  }
}

/** Runs the check and returns the exit code: 0 when everything worked, 1 otherwise. */
export async function checkConfig(input: CheckInput, print: Print, printError: Print): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(input.merged, input.readFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printError(`suitecrm-auth-proxy: invalid configuration: ${err.message}`);
    return 1;
  }
  const from = input.configPath ? `config file ${input.configPath} and the environment (the environment wins)` : 'the environment';
  print(`config: ok; settings from ${from}:`);
  describeSettings(input, print);
  warnAboutInlineSecrets(input, print);
  print(`proxy: would listen on ${config.host}:${config.port}`);
  // Named sections whenever SUITECRM_CREDENTIALS is in play, so the output says which credential each line is about.
  const several = config.credentials.length > 1 || config.credentials.some((c) => !c.fromSettings);
  if (several) print(`credentials: ${config.credentials.map((c) => c.name).join(', ')} (each is checked below)`);
  printTls(config, print);
  for (const warning of tlsWarnings(config)) print(`warning: ${warning.message}`);
  // The same kind of connection the token manager uses, so the check meets what the proxy would.
  const pool = tokenPool(config);
  const outcomes: CredentialOutcome[] = [];
  try {
    const apiBase = await findApi(config, pool, print);
    for (const credential of config.credentials) {
      if (several) print(`credential ${JSON.stringify(credential.name)}:`);
      outcomes.push(apiBase === undefined ? noToken(print) : await checkCredential(credentialConfig(config, credential), apiBase, pool, print));
    }
  } finally {
    await pool.destroy();
  }
  const failed = config.credentials.filter((_, i) => outcomes[i] === 'failed').map((c) => JSON.stringify(c.name));
  if (failed.length > 0) {
    print(several ? `result: FAILED (${failed.join(', ')})` : 'result: FAILED');
    return 1;
  }
  print(outcomes.includes('not_tried') ? 'result: OK (settings valid; token request not tried for a refresh_token grant)' : 'result: OK');
  return 0;
}

type CredentialOutcome = 'ok' | 'failed' | 'not_tried';

/** No token to try the API with: the credential failed. */
function noToken(print: Print): CredentialOutcome {
  print('api: not tried (no token)');
  return 'failed';
}

/** One credential: a token request, then one V8 call with the token. */
async function checkCredential(config: CredentialConfig, apiBase: string, pool: Pool, print: Print): Promise<CredentialOutcome> {
  if (config.grantType === 'refresh_token') {
    // SuiteCRM revokes a refresh token when it is used, so a test request would spend the one configured.
    print(`token: not tried: a refresh_token grant would spend ${credentialField(config, 'refreshToken')} (SuiteCRM rotates it on use)`);
    return 'not_tried';
  }
  const token = await tryToken(config, apiBase, pool, print);
  if (!token) return noToken(print);
  return (await tryApi(config, apiBase, pool, token, print)) ? 'ok' : 'failed';
}
