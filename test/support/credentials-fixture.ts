/**
 * Issue 13's scenario, shared by the in-process and the fleet tests: a SuiteCRM double with three
 * users and three OAuth2 clients, the proxy settings that name three credentials on them, five
 * callers (plus the anonymous one) mapped onto those credentials, and checks that read only the
 * public contract: HTTP answers, the double's records and log lines.
 *
 *   credential     grant               client      SuiteCRM user   callers
 *   default        client_credentials  wr-client   u-writer        writer-svc, sync-job, anonymous (no "suitecrm")
 *   reporting-ro   client_credentials  ro-client   u-reporter      report-daily, report-adhoc
 *   invoicing      password            inv-client  u-invoicer      invoice-svc
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { request, type Dispatcher } from 'undici';
import { startFakeSuiteCrm, type FakeClient, type FakeSuiteCrm, type FakeUser } from './fake-suitecrm.js';

export const RO_SECRET = 'CRED-ro-secret-Tz4qW8';
export const WR_SECRET = 'CRED-wr-secret-Hn6vB3';
export const INV_SECRET = 'CRED-inv-secret-Jd2kP5';
export const INVOICER_PASSWORD = 'CRED-invoicer-pass-Qv27Lx';
/** What the reporting credential says in the wrong-secret scenario: SuiteCRM answers 401 invalid_client. */
export const WRONG_SECRET = 'CRED-wrong-secret-Xy7pR1';

const USERS: FakeUser[] = [
  { id: 'u-reporter', username: 'reporter', password: 'CRED-reporter-pass-Mf9' },
  { id: 'u-invoicer', username: 'invoicer', password: INVOICER_PASSWORD },
  { id: 'u-writer', username: 'writer', password: 'CRED-writer-pass-Ka4' },
];
const CLIENTS: FakeClient[] = [
  { id: 'ro-client', secret: RO_SECRET, grant: 'client_credentials', userId: 'u-reporter' },
  { id: 'wr-client', secret: WR_SECRET, grant: 'client_credentials', userId: 'u-writer' },
  { id: 'inv-client', secret: INV_SECRET, grant: 'password' },
];

export type CredentialName = 'default' | 'reporting-ro' | 'invoicing';
export const CREDENTIAL_NAMES: readonly CredentialName[] = ['default', 'invoicing', 'reporting-ro'];

/** Who each credential is at SuiteCRM: the token's client (JWT aud) and the user requests run as. */
export const IDENTITY: Readonly<Record<CredentialName, { clientId: string; userId: string; grant: string }>> = {
  default: { clientId: 'wr-client', userId: 'u-writer', grant: 'client_credentials' },
  'reporting-ro': { clientId: 'ro-client', userId: 'u-reporter', grant: 'client_credentials' },
  invoicing: { clientId: 'inv-client', userId: 'u-invoicer', grant: 'password' },
};

/** The `SUITECRM_*` settings: they form the credential named `default`. */
export const DEFAULT_ENV: Readonly<Record<string, string>> = {
  SUITECRM_GRANT_TYPE: 'client_credentials', SUITECRM_CLIENT_ID: 'wr-client', SUITECRM_CLIENT_SECRET: WR_SECRET,
};

/** The value of `SUITECRM_CREDENTIALS` (before JSON.stringify). */
export const CREDENTIALS: Readonly<Record<string, Record<string, string>>> = {
  'reporting-ro': { grantType: 'client_credentials', clientId: 'ro-client', clientSecret: RO_SECRET },
  invoicing: { grantType: 'password', clientId: 'inv-client', clientSecret: INV_SECRET, username: 'invoicer', password: INVOICER_PASSWORD },
};

export interface Sender {
  readonly name: string;
  /** Undefined for the anonymous caller. */
  readonly key?: string;
  /** How the key is presented: both ways are part of the contract. */
  readonly presentAs?: 'x-proxy-key' | 'bearer';
  /** `suitecrm` of the PROXY_CLIENTS entry (a CredentialName but in start-up error tests); undefined: the caller relies on `default`. */
  readonly suitecrm?: string;
}

export const CALLERS: readonly Sender[] = [
  { name: 'report-daily', key: 'CRED-key-report-daily-7f3a9c1e', presentAs: 'x-proxy-key', suitecrm: 'reporting-ro' },
  { name: 'report-adhoc', key: 'CRED-key-report-adhoc-2d8b6e0f', presentAs: 'bearer', suitecrm: 'reporting-ro' },
  { name: 'invoice-svc', key: 'CRED-key-invoice-svc-9c4e1a7d', presentAs: 'x-proxy-key', suitecrm: 'invoicing' },
  { name: 'writer-svc', key: 'CRED-key-writer-svc-5a0f8d2c', presentAs: 'bearer' },
  { name: 'sync-job', key: 'CRED-key-sync-job-1e7c3b9f0d', presentAs: 'x-proxy-key' },
];
export const ANONYMOUS: Sender = { name: 'anonymous' };
/** Everyone the bursts send as: the five callers and the anonymous one. */
export const SENDERS: readonly Sender[] = [...CALLERS, ANONYMOUS];

export function credentialOf(caller: string): CredentialName {
  const sender = SENDERS.find((s) => s.name === caller);
  assert.ok(sender, `no such caller ${caller}`);
  return (sender.suitecrm ?? 'default') as CredentialName;
}

/** The PROXY_CLIENTS value for these callers (the anonymous one is not an entry). */
export function proxyClients(callers: readonly Sender[] = CALLERS): string {
  return JSON.stringify(callers.map((c) => ({ name: c.name, key: c.key, ...(c.suitecrm === undefined ? {} : { suitecrm: c.suitecrm }) })));
}

/** Every setting the scenario needs but SUITECRM_URL (and the token store). */
export function credentialsEnv(credentials: Readonly<Record<string, unknown>> = CREDENTIALS): Record<string, string> {
  return {
    ...DEFAULT_ENV,
    SUITECRM_CREDENTIALS: JSON.stringify(credentials),
    PROXY_CLIENTS: proxyClients(),
    PROXY_ALLOW_UNAUTHENTICATED: 'true',
  };
}

/** SUITECRM_CREDENTIALS with one credential's fields replaced or added. */
export function credentialsWith(name: string, fields: Record<string, string>): Record<string, Record<string, string>> {
  return { ...CREDENTIALS, [name]: { ...CREDENTIALS[name], ...fields } };
}

export async function startCredentialsDouble(t: TestContext): Promise<FakeSuiteCrm> {
  const fake = await startFakeSuiteCrm({ users: USERS, clients: CLIENTS });
  t.after(() => fake.close());
  return fake;
}

export interface Answer {
  readonly caller: string;
  readonly status: number;
  /** `x-suitecrm-proxy-error`, or null for SuiteCRM's own answers. */
  readonly errorCode: string | null;
  /** errors[0].detail of the proxy's own error documents, else ''. */
  readonly detail: string;
  /** data.id of SuiteCRM's current-user answer: the user the request ran as. */
  readonly userId: string | undefined;
  readonly text: string;
}

/** GET current-user as `sender`; the caller's name rides in the query string, which the double records. */
export async function callAs(base: string, sender: Sender, dispatcher: Dispatcher): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (sender.key !== undefined && sender.presentAs === 'bearer') headers.authorization = `Bearer ${sender.key}`;
  else if (sender.key !== undefined) headers['x-proxy-key'] = sender.key;
  try {
    const res = await request(`${base}/Api/V8/current-user?caller=${sender.name}`, { headers, dispatcher, headersTimeout: 60_000, bodyTimeout: 60_000 });
    const text = await res.body.text();
    const errorCode = res.headers['x-suitecrm-proxy-error'];
    const doc = parseJson(text) as { data?: { id?: string }; errors?: Array<{ detail?: string }> };
    return {
      caller: sender.name, status: res.statusCode, text, errorCode: typeof errorCode === 'string' ? errorCode : null,
      detail: doc.errors?.[0]?.detail ?? '', userId: doc.data?.id,
    };
  } catch (err) {
    return { caller: sender.name, status: 0, errorCode: null, detail: '', userId: undefined, text: String(err) };
  }
}

export interface Readiness {
  readonly status: number;
  readonly errorCode: string | null;
  /** errors[0].detail when not ready. */
  readonly detail: string;
  /** meta.credentials: each credential's state. */
  readonly credentials: Readonly<Record<string, { status?: string }>>;
  readonly text: string;
}

export async function readiness(base: string, dispatcher: Dispatcher): Promise<Readiness> {
  const res = await request(`${base}/_proxy/readyz`, { dispatcher });
  const text = await res.body.text();
  const errorCode = res.headers['x-suitecrm-proxy-error'];
  const doc = parseJson(text) as { meta?: { credentials?: Record<string, { status?: string }> }; errors?: Array<{ detail?: string }> };
  return {
    status: res.statusCode, errorCode: typeof errorCode === 'string' ? errorCode : null, detail: doc.errors?.[0]?.detail ?? '',
    credentials: doc.meta?.credentials ?? {}, text,
  };
}

/** JSON.parse, or {} for text that is not JSON (an HTML error page, a non-JSON log line). */
export function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** `count` concurrent requests; request i goes as senders[i % n] to bases[floor(i / n) % bases.length], so every sender reaches every base. */
export function mixedBurst(bases: readonly string[], count: number, dispatcher: Dispatcher, senders: readonly Sender[] = SENDERS): Promise<Answer[]> {
  return Promise.all(Array.from({ length: count }, (_, i) =>
    callAs(bases[Math.floor(i / senders.length) % bases.length]!, senders[i % senders.length]!, dispatcher)));
}

/** Each answer is a 200 showing the user of its caller's credential. */
export function assertServedAsTheirCredential(answers: readonly Answer[]): void {
  const wrong = answers.filter((a) => a.status !== 200 || a.userId !== IDENTITY[credentialOf(a.caller)].userId);
  assert.deepEqual(wrong.map((a) => `${a.caller}: ${a.status} ${a.userId ?? a.text.slice(0, 200)}`), []);
}

/** Each answer is the proxy's fast 503 CREDENTIALS_REJECTED, its detail naming `credential`. */
export function assertRejectedNaming(answers: readonly Answer[], credential: CredentialName): void {
  assert.ok(answers.length > 0);
  for (const answer of answers) {
    assert.deepEqual([answer.status, answer.errorCode], [503, 'CREDENTIALS_REJECTED'], answer.text);
    assert.ok(answer.detail.includes(credential), `the detail names the credential: ${answer.detail}`);
  }
}

/** Token requests the double received, by the body's client_id. */
export function tokenRequestsByClient(fake: FakeSuiteCrm, from = 0): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of fake.tokenRequests.slice(from)) {
    const client = String(entry.body['client_id']);
    counts[client] = (counts[client] ?? 0) + 1;
  }
  return counts;
}

export const ONE_GRANT_EACH = { 'ro-client': 1, 'wr-client': 1, 'inv-client': 1 };

/**
 * Every request the double received carried a token of its caller's credential: the right client
 * and the right user. Returns how many requests each caller made, to check the load was mixed.
 */
export function assertTokensMatchCallers(fake: FakeSuiteCrm): Record<string, number> {
  const perCaller: Record<string, number> = {};
  const mixUps: string[] = [];
  for (const record of fake.requests) {
    const caller = new URL(record.path, 'http://double').searchParams.get('caller') ?? '(none)';
    perCaller[caller] = (perCaller[caller] ?? 0) + 1;
    const expected = IDENTITY[credentialOf(caller)];
    if (record.tokenClientId !== expected.clientId || record.tokenUserId !== expected.userId) {
      mixUps.push(`#${record.seq} ${caller}: client ${record.tokenClientId}, user ${record.tokenUserId}`);
    }
  }
  assert.deepEqual(mixUps, [], 'a request reached SuiteCRM with a token of another credential');
  return perCaller;
}

/** Where the double's records stood when a credential's token was revoked. */
export interface Revocation {
  readonly tokenFrom: number;
  readonly requestFrom: number;
}

/** An admin revokes the reporting credential's access token (found in the double's records). */
export function revokeReportingToken(fake: FakeSuiteCrm): Revocation {
  const reporting = fake.requests.find((r) => r.tokenClientId === IDENTITY['reporting-ro'].clientId);
  assert.ok(reporting, 'the reporting credential has a token');
  fake.revokeAccessToken(String(reporting.headers.authorization).replace(/^Bearer /, ''));
  return { tokenFrom: fake.tokenRequests.length, requestFrom: fake.requests.length };
}

/**
 * After revokeReportingToken() and a mixed burst whose request log lines are `lines`: one new grant,
 * for the reporting credential alone; only its token refused; only its callers' requests replayed.
 */
export function assertRevocationConfined(fake: FakeSuiteCrm, revocation: Revocation, lines: ReadonlyArray<Record<string, unknown>>): void {
  assert.deepEqual(tokenRequestsByClient(fake, revocation.tokenFrom), { 'ro-client': 1 }, 'one new grant, for the revoked credential alone');
  const refused = fake.requests.slice(revocation.requestFrom).filter((r) => r.status === 401);
  assert.ok(refused.length > 0, 'SuiteCRM refused the revoked token');
  assert.deepEqual([...new Set(refused.map((r) => r.tokenClientId))], ['ro-client'], 'only the revoked credential\'s token was refused');
  assertLogNamesCredential(lines);
  const replayedBy = new Set(lines.filter((l) => l.replayed === true).map((l) => String(l.caller)));
  assert.ok(replayedBy.size > 0, 'requests carrying the revoked token were replayed');
  assert.deepEqual([...replayedBy].filter((c) => credentialOf(c) !== 'reporting-ro'), [], 'only its callers\' requests were replayed');
  assertTokensMatchCallers(fake);
}

/** The 'request' log lines among these log records. */
export function requestLines(records: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return records.filter((r) => r.msg === 'request');
}

/** Each request log line names its caller's credential. */
export function assertLogNamesCredential(lines: ReadonlyArray<Record<string, unknown>>): void {
  const wrong = lines.filter((l) => l.credential !== credentialOf(String(l.caller)));
  assert.deepEqual(wrong.map((l) => `${String(l.caller)} -> ${String(l.credential)}`), [], 'request log lines name the caller\'s credential');
}

/** The access tokens SuiteCRM saw, as presented (without "Bearer "). */
export function issuedTokens(fake: FakeSuiteCrm): string[] {
  const tokens = fake.requests.map((r) => String(r.headers.authorization ?? '').replace(/^Bearer /, ''));
  return [...new Set(tokens.filter(Boolean))];
}

/** No client secret, password, refresh token or caller key of any credential in `texts`, nor any of `alsoSecret` (issued tokens, a store key). */
export function assertNoSecrets(texts: readonly string[], alsoSecret: readonly string[] = []): void {
  // A JWT's signature alone is a leak too; 'def50200' starts every refresh token (the password grant's).
  const tokenParts = alsoSecret.flatMap((t) => [t, t.split('.')[2] ?? t]);
  const secrets = [RO_SECRET, WR_SECRET, INV_SECRET, INVOICER_PASSWORD, WRONG_SECRET, 'def50200', ...CALLERS.map((c) => c.key!), ...tokenParts];
  const text = texts.join('\n');
  for (const secret of secrets) assert.ok(!text.includes(secret), `leaked ${secret.slice(0, 14)}...`);
}
