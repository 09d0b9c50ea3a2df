/**
 * SIGTERM under load: the proxy process is told to stop while requests are in flight at
 * SuiteCRM (which answers slowly for the drill). Nothing that reached SuiteCRM may be lost: each
 * such request must get SuiteCRM's answer back to its caller. Requests that arrive while the
 * proxy closes may be refused, but never hang, and the process exits 0 within the bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DRILL_LOAD, proxyViolations, slowestMs, tallyFailures, tokenFailures, withDrillRig, type DrillResult } from './drill.js';

export interface ShutdownDrillOptions {
  /** SuiteCRM's answer time during the drill, so requests are in flight when the signal arrives. */
  readonly apiDelayMs: number;
  readonly exitBoundMs: number;
  /** Outcomes allowed for requests that never reached SuiteCRM (refused while closing). */
  readonly refusedOutcomes: readonly string[];
}

/** Graceful shutdown as src/admin/shutdown.ts implements it (README, "Graceful shutdown"). */
export const SHUTDOWN_DRILL: ShutdownDrillOptions = {
  apiDelayMs: 300,
  exitBoundMs: 10_000,
  // ECONNREFUSED: the listener is closed. ECONNRESET / UND_ERR_SOCKET: an idle keep-alive
  // socket closed under a request the caller had just written. SHUTTING_DOWN: a request that
  // arrived on a busy keep-alive socket while the proxy drains (our JSON:API 503).
  refusedOutcomes: ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'SHUTTING_DOWN'],
};

export function runShutdownDrill(options: ShutdownDrillOptions = SHUTDOWN_DRILL): Promise<DrillResult> {
  const name = 'SIGTERM under load';
  return withDrillRig({ name }, async ({ crm, proxy, load, ledger }) => {
    const results = load.results;
    const violations: string[] = [];
    crm.faults.apiDelayMs = options.apiDelayMs;
    // Let the slow answers fill the pipeline before the signal.
    await sleep(options.apiDelayMs * 2);
    const tokensBefore = crm.tokenRequestCount();
    const signalAt = performance.now();
    proxy.child.kill('SIGTERM');
    const exit = await Promise.race([proxy.exited, sleep(options.exitBoundMs + 5000).then(() => 'still running')]);
    const exitMs = performance.now() - signalAt;
    // Keep calling for a moment after the exit: those calls must be refused, not hang.
    await sleep(300);
    await load.stop();
    const tokenRequests = crm.tokenRequestCount() - tokensBefore;

    if (exit !== 0) violations.push(`the proxy exited with ${String(exit)}, expected 0`);
    for (const event of ['shutdown_started', 'shutdown_complete']) {
      if (!proxy.events.some((e) => e.event === event)) violations.push(`the proxy did not log ${event}`);
    }
    if (exitMs > options.exitBoundMs) violations.push(`the proxy took ${Math.round(exitMs)} ms to exit, bound ${options.exitBoundMs} ms`);
    if (tokenRequests > 1) violations.push(`${tokenRequests} token requests during shutdown`);

    // Nothing that reached SuiteCRM may be lost; the ledger also checks "failed but applied".
    const summary = ledger.check(results, { allowDropped: false });
    violations.push(...summary.violations, ...proxyViolations(proxy, false));
    const refused = new Set(options.refusedOutcomes);
    let drained = 0;
    for (const r of results) {
      if (r.startedAt < signalAt && r.endedAt > signalAt && r.ok) drained += 1;
      if (r.ok) continue;
      if (r.endedAt < signalAt) violations.push(`${r.method} ${r.kind} ${r.id} failed before the signal: ${r.outcome}`);
      else if (!refused.has(r.outcome)) violations.push(`${r.method} ${r.kind} ${r.id} ended with ${r.outcome}, not one of [${[...refused].join(', ')}]`);
    }
    if (drained === 0) violations.push('the drill did not exercise its fault: no request was in flight when the signal arrived');

    return {
      name,
      requests: results.length,
      succeeded: results.filter((r) => r.ok).length,
      failures: tallyFailures(results),
      tokenRequests,
      tokenBound: 1,
      tokenBoundText: 'no token request while shutting down',
      recoveryMs: NaN,
      recoveryBoundMs: options.exitBoundMs,
      slowestMs: slowestMs(results),
      clientTimeoutMs: DRILL_LOAD.clientTimeoutMs,
      replayed: summary.replayed,
      resent: summary.resent,
      dropped: summary.dropped,
      tokenFailures: tokenFailures(proxy),
      holdMs: 0,
      note: `n/a: exit ${String(exit)} after ${(exitMs / 1000).toFixed(2)} s (≤ ${options.exitBoundMs / 1000} s), ${drained} in-flight drained`,
      violations,
    };
  });
}
