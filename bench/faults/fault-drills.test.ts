/**
 * Fault drills (issue 6): the proxy as a real process in front of the SuiteCRM double, a steady
 * mixed load, and one fault at a time injected and lifted. Each drill passes only if every
 * request ended with SuiteCRM's answer or one of the documented error codes within its client
 * timeout, nothing arrived twice or altered, token requests stayed within the bound and the
 * proxy recovered by itself within the bound.
 *
 * Run by `npm run test:faults` (which also writes bench/results/faults.md and .json), not by
 * `npm test`: the suite takes 2-3 minutes on the shared 2-core machine, over the budget for the
 * default test run. It lives outside test/ because `node --test dist/test/` runs every file there.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runDrill, type DrillResult } from '../../test/support/drill/drill.js';
import { DRILL_COLUMNS, markdownTable, writeResults } from '../../test/support/drill/report.js';
import { runShutdownDrill, SHUTDOWN_DRILL } from '../../test/support/drill/shutdown-drill.js';
import { DRILLS } from './drills.js';

/**
 * Drills run two at a time: each has its own double and proxy process and much of a drill is
 * waiting (fault held, backoff). More at once starves a 2-core machine and stretches latencies.
 */
const CONCURRENT_DRILLS = 2;
const results: DrillResult[] = [];

function assertHeld(result: DrillResult): void {
  results.push(result);
  assert.deepEqual(result.violations.slice(0, 15), [],
    `${result.violations.length} violations; failed token requests: ${JSON.stringify(result.tokenFailures)}`);
}

describe('fault drills', { concurrency: CONCURRENT_DRILLS }, () => {
  for (const spec of DRILLS) {
    test(spec.name, async () => assertHeld(await runDrill(spec)));
  }

  test('SIGTERM under load: in-flight requests finish, the rest are refused, exit 0', async () => {
    assertHeld(await runShutdownDrill(SHUTDOWN_DRILL));
  });
});

after(() => {
  if (results.length === 0) return;
  const order = [...DRILLS.map((d) => d.name), 'SIGTERM under load'];
  results.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const table = markdownTable(results, DRILL_COLUMNS);
  process.stdout.write(`\n${table}\n\n`);
  const target = process.env.FAULT_DRILL_RESULTS;
  if (target) {
    const markdown = [
      '# Fault drills',
      '',
      `Written by \`npm run test:faults\` on ${new Date().toISOString()} (Node ${process.version}, ${results.length} drills).`,
      'Each drill: a fresh SuiteCRM double and proxy process, 6 callers with a 15 s client timeout, a healthy',
      'baseline, the fault held for the stated time, then kept under load until 15 requests in a row succeeded.',
      '"failed with" counts requests by the proxy error code (x-suitecrm-proxy-error), SuiteCRM\'s own',
      'answer ("upstream 401") or the client-side error; HANG would mean a request ran into its client timeout.',
      '',
      table,
      '',
    ].join('\n');
    writeResults(target, markdown, results.map((r) => ({ ...r, recoveryMs: Number.isFinite(r.recoveryMs) ? Math.round(r.recoveryMs) : null, slowestMs: Math.round(r.slowestMs) })));
  }
});
