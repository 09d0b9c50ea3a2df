/**
 * Finding SuiteCRM's API (src/upstream/api-detection.ts, api-base.ts) against the SuiteCRM double
 * in both layouts: the site's address and its /legacy, SuiteCRM 7 and 8; empty POSTs only (no
 * token request, no secret); clear failures; SUITECRM_API_BASE skips it; one detection for many
 * callers, and a failure remembered for a pause (fake clock) before the next try.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Pool } from 'undici';
import { ApiDetectionError, DetectedApiBase } from '../../src/upstream/api-base.js';
import { apiBaseCandidates, detectApiBase } from '../../src/upstream/api-detection.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';

function settings(url: string, extra: { apiBase?: string } = {}) {
  const suitecrmUrl = new URL(url);
  return { suitecrmUrl, basePath: suitecrmUrl.pathname.replace(/\/+$/, ''), timeoutMs: 5000, apiBase: extra.apiBase };
}

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _e, done) { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  return { logger: pino({ level: 'info' }, sink), lines };
}

test('candidates: SuiteCRM 7 first at the site, SuiteCRM 8 first under /legacy; never /legacy/legacy', () => {
  assert.deepEqual(apiBaseCandidates(''), ['/Api', '/legacy/Api', '/Api/index.php', '/legacy/Api/index.php']);
  assert.deepEqual(apiBaseCandidates('/legacy'), ['/legacy/Api', '/Api', '/legacy/Api/index.php', '/Api/index.php']);
  assert.deepEqual(apiBaseCandidates('/crm'), ['/crm/Api', '/crm/legacy/Api', '/crm/Api/index.php', '/crm/legacy/Api/index.php']);
});

for (const layout of ['suitecrm7', 'suitecrm8'] as const) {
  describe(`${layout}: both forms of SUITECRM_URL find the API with empty POSTs`, () => {
    let crm: FakeSuiteCrm;
    let pool: Pool;
    before(async () => {
      crm = await startFakeSuiteCrm({ layout });
      pool = new Pool(crm.url);
    });
    after(async () => {
      await pool.close();
      await crm.close();
    });

    for (const form of ['', '/legacy']) {
      test(`SUITECRM_URL=${form === '' ? 'the site' : '.../legacy'}`, async () => {
        crm.reset();
        const found = await detectApiBase(settings(`${crm.url}${form}`), pool);
        assert.equal(found.apiBase, layout === 'suitecrm7' ? '/Api' : '/legacy/Api');
        assert.equal(found.tried.at(-1)?.answer, 'oauth');
        assert.ok(found.tried.slice(0, -1).every((t) => t.answer === '404'), JSON.stringify(found.tried));
        assert.equal(crm.tokenRequestCount(), 0, 'a probe is not a token request');
        assert.equal(crm.probes.length, 1, 'one probe reached the OAuth server');
        assert.ok(crm.seenPaths.every((path) => !path.includes('/legacy/legacy')), crm.seenPaths.join());
      });
    }
  });
}

test('nothing that answers as SuiteCRM\'s OAuth server: misconfigured, every candidate and its answer named', async (t) => {
  const crm = await startFakeSuiteCrm({ layout: 'suitecrm8' });
  const pool = new Pool(crm.url);
  t.after(async () => { await pool.close(); await crm.close(); });
  const err = await detectApiBase(settings(`${crm.url}/crm`), pool).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ApiDetectionError);
  assert.equal(err.failureClass, 'misconfigured');
  assert.equal(err.reason, 'api_not_found');
  assert.equal(err.tried.length, 4);
  assert.match(err.detail, /POST \/crm\/Api\/access_token 404, \/crm\/legacy\/Api\/access_token 404, .*check SUITECRM_URL .* or set SUITECRM_API_BASE/);
});

test('SuiteCRM down: transient, named by its network error, and remembered for a pause; detected after it', async (t) => {
  const crm = await startFakeSuiteCrm({ layout: 'suitecrm8' });
  await crm.stop();
  const pool = new Pool(crm.url);
  t.after(async () => { await pool.close(); await crm.close(); });
  let now = 1_000_000;
  const { logger, lines } = capture();
  const api = new DetectedApiBase(settings(crm.url), pool, logger, () => now);
  await api.start();
  assert.equal(api.current(), undefined);
  assert.deepEqual(api.state(), { base: null, source: null });
  const failed = lines.find((l) => l.event === 'suitecrm_api_detection_failed');
  assert.equal(failed?.cause, 'ECONNREFUSED');
  assert.equal(failed?.failureClass, 'transient');
  await crm.start();
  const remembered = await api.resolve().then(() => undefined, (e: unknown) => e);
  assert.ok(remembered instanceof ApiDetectionError && remembered.reason === 'ECONNREFUSED', 'within the pause: the remembered failure');
  assert.equal(crm.seenPaths.length, 0, 'and no probe');
  now += 1001;
  const [first, second] = await Promise.all([api.resolve(), api.resolve()]);
  assert.deepEqual([first, second], ['/legacy/Api', '/legacy/Api']);
  assert.deepEqual(crm.seenPaths, ['/Api/access_token', '/legacy/Api/access_token'], 'one detection for both callers');
  assert.deepEqual(api.state(), { base: '/legacy/Api', source: 'detected' });
  const found = lines.filter((l) => l.event === 'suitecrm_api_base');
  assert.equal(found.length, 1);
  assert.equal(found[0]?.apiBase, '/legacy/Api');
  assert.match(String(found[0]?.msg), /SuiteCRM's V8 API is at http:\/\/127\.0\.0\.1:\d+\/legacy\/Api \(detected\)/);
});

test('SUITECRM_API_BASE: no probe at all; the base is SUITECRM_URL\'s path plus the setting', async (t) => {
  const crm = await startFakeSuiteCrm({ layout: 'suitecrm8' });
  const pool = new Pool(crm.url);
  t.after(async () => { await pool.close(); await crm.close(); });
  const { logger, lines } = capture();
  const api = new DetectedApiBase(settings(`${crm.url}/legacy`, { apiBase: '/Api' }), pool, logger);
  await api.start();
  assert.equal(api.current(), '/legacy/Api');
  assert.deepEqual(api.state(), { base: '/legacy/Api', source: 'SUITECRM_API_BASE' });
  assert.equal(await api.resolve(), '/legacy/Api');
  assert.equal(crm.seenPaths.length, 0);
  assert.equal(lines.find((l) => l.event === 'suitecrm_api_base')?.source, 'SUITECRM_API_BASE');
});
