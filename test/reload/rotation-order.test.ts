/**
 * Issue 22, point 1, end to end: the real proxy process (alone, as PROXY_WORKERS=2, and with
 * TOKEN_STORE=redis) under a steady load, in the order operators rotate in practice: the secret
 * is changed in SuiteCRM first and its tokens are revoked, the proxy's token request is refused
 * (rejection pause), and only then is the secret file updated. Callers are served again within
 * 1 s of the reload and nothing is refused after. Then the same for an operator's SIGHUP that
 * changes nothing: the paused credential is retried at once.
 *
 * Times are the proxy's own (the `time` of its log lines) and the load's, on one machine's clock;
 * every wait is a bounded poll.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { LoadGenerator, type ClientResult } from '../support/drill/load.js';
import { spawnProxyProcess, type ProxyProcess } from '../support/drill/proxy-process.js';
import { needRedis, startRedis } from '../support/redis-server.js';
import { until } from '../support/wait.js';

const OLD_SECRET = 'cc-secret-S3cr3t!';
const NEW_SECRET = 'ROTATE-new-secret-Kp3Vx8';
const INTERIM_SECRET = 'ROTATE-interim-secret-Zt6Lq1';
/** The issue's bound: served again within this long after the reload. */
const HEALED_WITHIN_MS = 1000;

const wallClock = (performanceMs: number): number => performance.timeOrigin + performanceMs;

function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

interface Rig {
  readonly crm: FakeSuiteCrm;
  readonly proxy: ProxyProcess;
  readonly load: LoadGenerator;
  readonly secretPath: string;
}

async function startRig(t: TestContext, env: Record<string, string>): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'rotation-order-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretPath = join(dir, 'client_secret');
  writeFileSync(secretPath, `${OLD_SECRET}\n`);
  const crm = await startFakeSuiteCrm();
  t.after(() => crm.close());
  const proxy = await spawnProxyProcess({
    SUITECRM_URL: crm.url, SUITECRM_CLIENT_ID: 'cc-client', SUITECRM_CLIENT_SECRET_FILE: secretPath,
    CONFIG_POLL_SECONDS: '1', LOG_LEVEL: 'debug', ...env,
  });
  t.after(() => proxy.stop());
  const load = new LoadGenerator({ baseUrl: proxy.url, workers: 4, pauseMs: 5, clientTimeoutMs: 20_000 });
  load.start();
  t.after(() => load.stop());
  await until('the steady load to run', () => load.results.filter((r) => r.ok).length >= 40, 30_000);
  return { crm, proxy, load, secretPath };
}

const eventsNamed = (proxy: ProxyProcess, event: string, from = 0): Array<Record<string, unknown>> =>
  proxy.events.slice(from).filter((e) => e.event === event);

/** SuiteCRM takes a new secret and revokes every token; the proxy's next token request is refused and callers get 503s. */
async function refuseCredentials(rig: Rig, secret: string): Promise<void> {
  const from = rig.proxy.events.length;
  const seen = rig.load.results.length;
  rig.crm.setClientSecret('cc-client', secret);
  rig.crm.revokeAll();
  await until('the refused token request', () => eventsNamed(rig.proxy, 'token_request_failed', from).some((e) => e.failureClass === 'rejected'));
  await until('callers refused meanwhile', () => rig.load.results.slice(seen).some((r) => r.outcome === 'CREDENTIALS_REJECTED'));
}

/** After the reload logged as `reloaded`: the first success within the bound, and no refusal after it. */
async function assertHealed(rig: Rig, reloaded: Record<string, unknown>): Promise<void> {
  const reloadedAt = reloaded.time as number;
  const servedAfter = (r: ClientResult): boolean => r.ok && wallClock(r.endedAt) > reloadedAt;
  await until('callers served again', () => rig.load.results.some(servedAfter));
  const seen = rig.load.results.length;
  await until('more of the steady load', () => rig.load.results.length >= seen + 100, 30_000);
  const firstServed = Math.min(...rig.load.results.filter(servedAfter).map((r) => wallClock(r.endedAt)));
  assert.ok(firstServed - reloadedAt <= HEALED_WITHIN_MS, `first success ${Math.round(firstServed - reloadedAt)} ms after the reload`);
  const refusedAfter = rig.load.results.filter((r) => !r.ok && wallClock(r.startedAt) > firstServed);
  assert.deepEqual(refusedAfter.map((r) => r.outcome), [], 'nothing refused once served again');
}

async function rotateInTheIssuesOrder(rig: Rig): Promise<void> {
  await refuseCredentials(rig, NEW_SECRET);
  const from = rig.proxy.events.length;
  replaceFile(rig.secretPath, `${NEW_SECRET}\n`);
  await until('the reload of the new secret', () => eventsNamed(rig.proxy, 'config_reloaded', from).some((e) => (e.changed as string[]).includes('SUITECRM_CLIENT_SECRET')));
  const reloaded = eventsNamed(rig.proxy, 'config_reloaded', from).find((e) => (e.changed as string[]).includes('SUITECRM_CLIENT_SECRET'))!;
  await assertHealed(rig, reloaded);
  assert.equal(rig.crm.tokenRequests.at(-1)?.status, 200);
}

/** SuiteCRM is put back to the secret the proxy has; the operator's SIGHUP (nothing changed) retries at once. */
async function sighupRetriesAtOnce(rig: Rig): Promise<void> {
  await refuseCredentials(rig, INTERIM_SECRET);
  rig.crm.setClientSecret('cc-client', NEW_SECRET);
  const from = rig.proxy.events.length;
  rig.proxy.child.kill('SIGHUP');
  await until('the SIGHUP reload', () => eventsNamed(rig.proxy, 'config_reloaded', from).some((e) => e.trigger === 'SIGHUP'));
  const reloaded = eventsNamed(rig.proxy, 'config_reloaded', from).find((e) => e.trigger === 'SIGHUP')!;
  assert.deepEqual(reloaded.changed, []);
  await assertHealed(rig, reloaded);
  await until('the retry line', () => eventsNamed(rig.proxy, 'token_pause_ended', from).some((e) => e.cause === 'sighup'));
}

for (const workers of [1, 2]) {
  test(`PROXY_WORKERS=${workers}: secret changed in SuiteCRM first, file later: served within 1 s of the reload; SIGHUP retries at once`, async (t) => {
    const rig = await startRig(t, { PROXY_WORKERS: String(workers) });
    await rotateInTheIssuesOrder(rig);
    await sighupRetriesAtOnce(rig);
  });
}

test('TOKEN_STORE=redis: the same rotation heals within 1 s of the reload', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis(t);
  const rig = await startRig(t, { TOKEN_STORE: 'redis', REDIS_URL: redis.url, TOKEN_STORE_KEY: randomBytes(32).toString('hex') });
  await rotateInTheIssuesOrder(rig);
  await sighupRetriesAtOnce(rig);
});
