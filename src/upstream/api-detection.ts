/**
 * Finds where SuiteCRM's V8 API lives under SUITECRM_URL, with requests that change nothing and
 * spend no secret: an empty POST to a candidate token path gets league's JSON error (400
 * `unsupported_grant_type`) where SuiteCRM's OAuth server is, and an HTML 404 where it is not
 * (SuiteCRM 8 answers its own page for `/Api/...` at the site root, Apache a plain one for
 * `/legacy/legacy/...`).
 *
 * The candidates are tried in a fixed order and the first that answers as the OAuth server wins,
 * so SuiteCRM 7 keeps `/Api`. A network error ends the detection at once (every candidate shares
 * the connection); a 5xx does not stop it (SuiteCRM 8 may fail on the root alias) but makes an
 * empty-handed detection a transient failure instead of a misconfiguration.
 */
import { request, type Dispatcher } from 'undici';
import { isTlsVerifyCode, unreachableCode, tlsVerifyHint } from '../errors.js';

export interface DetectionSettings {
  readonly suitecrmUrl: URL;
  /** Path part of SUITECRM_URL without a trailing slash: '' or e.g. '/legacy'. */
  readonly basePath: string;
  /** Longest the whole detection may take (TOKEN_REQUEST_TIMEOUT_SECONDS). */
  readonly timeoutMs: number;
}

/** One candidate's answer, for the log and --check-config: `oauth`, an HTTP status, or a network error code. */
export interface ProbeOutcome {
  readonly apiBase: string;
  readonly answer: string;
}

export interface DetectedApi {
  /** The path, from SUITECRM_URL's origin, that SuiteCRM's API routes hang off: `/Api`, `/legacy/Api`, `/crm/Api/index.php`. */
  readonly apiBase: string;
  readonly tried: readonly ProbeOutcome[];
}

/** Detection found no API: `transient` (unreachable, 5xx, timeout) or `misconfigured` (only 404s and the like, or TLS). */
export class ApiDetectionError extends Error {
  readonly code = 'API_DETECTION_FAILED';
  /** Set by its owner (api-base.ts): how long until detection is tried again. */
  retryAfterMs: number | undefined;
  constructor(
    readonly failureClass: 'transient' | 'misconfigured',
    /** Short machine-friendly reason, safe to log (`api_not_found`, `ECONNREFUSED`). */
    readonly reason: string,
    /** Names what was tried and the setting to check; never a secret. */
    readonly detail: string,
    readonly tried: readonly ProbeOutcome[],
  ) {
    super(`SuiteCRM's API was not found (${failureClass}: ${reason}): ${detail}`);
    this.name = 'ApiDetectionError';
  }
}

/**
 * SuiteCRM 7 (`/Api`) and SuiteCRM 8 (`/legacy/Api`) under the site, then both without URL
 * rewriting (`/index.php`). A SUITECRM_URL that ends in SuiteCRM 8's `/legacy` names the site
 * above it and tries SuiteCRM 8 first; `/legacy` is never doubled.
 */
export function apiBaseCandidates(basePath: string): readonly string[] {
  const legacyUrl = basePath.endsWith('/legacy');
  const site = legacyUrl ? basePath.slice(0, -'/legacy'.length) : basePath;
  const bases = legacyUrl ? [`${site}/legacy/Api`, `${site}/Api`] : [`${site}/Api`, `${site}/legacy/Api`];
  return [...bases, ...bases.map((base) => `${base}/index.php`)];
}

/** A league error document (`{"error": "...", ...}`) with a client-error status: SuiteCRM's OAuth server. */
async function isOAuthServer(response: Dispatcher.ResponseData): Promise<boolean> {
  const json = /json/i.test(String(response.headers['content-type'] ?? ''));
  if (!json || (response.statusCode !== 400 && response.statusCode !== 401)) {
    await response.body.dump();
    return false;
  }
  try {
    const body = (await response.body.json()) as { error?: unknown } | null;
    return typeof body?.error === 'string';
  } catch {
    return false;
  }
}

async function probe(settings: DetectionSettings, apiBase: string, dispatcher: Dispatcher, signal: AbortSignal): Promise<string> {
  const response = await request(new URL(`${apiBase}/access_token`, settings.suitecrmUrl.origin), {
    method: 'POST', dispatcher, body: '', signal,
    headersTimeout: settings.timeoutMs, bodyTimeout: settings.timeoutMs,
  });
  return (await isOAuthServer(response)) ? 'oauth' : String(response.statusCode);
}

function unreachable(err: unknown, settings: DetectionSettings, tried: ProbeOutcome[]): ApiDetectionError {
  const code = unreachableCode(err);
  if (isTlsVerifyCode(code)) {
    return new ApiDetectionError('misconfigured', code, `SuiteCRM's TLS certificate could not be verified (${code}); ${tlsVerifyHint(code)}`, tried);
  }
  return new ApiDetectionError('transient', code, `SuiteCRM at ${settings.suitecrmUrl.origin} could not be reached (${code}); check SUITECRM_URL and that SuiteCRM is up`, tried);
}

/** Nothing answered as SuiteCRM's OAuth server: the detail lists what each candidate answered. */
function notFound(settings: DetectionSettings, tried: readonly ProbeOutcome[]): ApiDetectionError {
  const answers = tried.map((t) => `${t.apiBase}/access_token ${t.answer}`).join(', ');
  const url = settings.suitecrmUrl.href.replace(/\/$/, '');
  if (tried.some((t) => t.answer.startsWith('5'))) {
    return new ApiDetectionError('transient', 'http_5xx', `SuiteCRM's token endpoint was not found under ${url} while it answers 5xx (POST ${answers}); check that SuiteCRM is up`, tried);
  }
  return new ApiDetectionError('misconfigured', 'api_not_found',
    `no SuiteCRM V8 API under ${url} (POST ${answers}); check SUITECRM_URL (the site's address, or its /legacy for SuiteCRM 8) or set SUITECRM_API_BASE`, tried);
}

/** Probes the candidates in order; resolves with the first that is SuiteCRM's OAuth server. */
export async function detectApiBase(settings: DetectionSettings, dispatcher: Dispatcher): Promise<DetectedApi> {
  const signal = AbortSignal.timeout(settings.timeoutMs);
  const tried: ProbeOutcome[] = [];
  for (const apiBase of apiBaseCandidates(settings.basePath)) {
    let answer: string;
    try {
      answer = await probe(settings, apiBase, dispatcher, signal);
    } catch (err) {
      throw unreachable(err, settings, tried);
    }
    tried.push({ apiBase, answer });
    if (answer === 'oauth') return { apiBase, tried };
  }
  throw notFound(settings, tried);
}
