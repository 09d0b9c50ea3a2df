/**
 * One fault drill: a fresh SuiteCRM double and a fresh proxy process, steady mixed load, a
 * healthy baseline, the fault injected and held, the fault lifted, and the load kept up until
 * the proxy has recovered by itself. Then every request is accounted for: how it ended for the
 * caller, what arrived upstream, how many token requests it cost, how long recovery took.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeSuiteCrm, type FakeSuiteCrm, type FakeSuiteCrmOptions } from '../fake-suitecrm.js';
import { CC_ENV, PW_ENV } from '../proxy-harness.js';
import { UpstreamLedger } from './ledger.js';
import { LoadGenerator, type ClientResult } from './load.js';
import { spawnProxyProcess, type ProxyProcess } from './proxy-process.js';
import { startStaleSocketRelay, type StaleSocketRelay } from './stale-socket-relay.js';

/**
 * Proxy settings for every drill: backoff short enough that a drill takes seconds; timeouts
 * long enough that a busy 2-core machine does not trip them (drills that test a timeout lower it).
 */
export const DRILL_ENV: Readonly<Record<string, string>> = {
  TOKEN_RETRY_MAX_SECONDS: '2',
  TOKEN_REQUEST_TIMEOUT_SECONDS: '5',
  UPSTREAM_TIMEOUT_SECONDS: '5',
  UPSTREAM_CONNECT_TIMEOUT_SECONDS: '2',
  LOG_LEVEL: 'debug',
};

/** The load during a drill: 6 callers, each pausing 40 ms between requests; 15 s client timeout. */
export const DRILL_LOAD = { workers: 6, pauseMs: 40, clientTimeoutMs: 15_000 } as const;

export interface DrillContext {
  readonly crm: FakeSuiteCrm;
  readonly proxy: ProxyProcess;
  /** Between proxy and double when the drill asks for it. */
  readonly relay?: StaleSocketRelay;
}

export interface DrillSpec {
  /** The row name in the table. */
  readonly name: string;
  readonly grant?: 'client_credentials' | 'password';
  readonly crm?: FakeSuiteCrmOptions;
  readonly env?: Readonly<Record<string, string>>;
  /** Put a relay that can make kept-alive sockets stale between proxy and double. */
  readonly staleSocketRelay?: boolean;
  readonly holdMs: number;
  inject(ctx: DrillContext): void | Promise<void>;
  lift(ctx: DrillContext): void | Promise<void>;
  /** Outcomes a request may end with while the fault is on (besides success). Empty: none may fail. */
  readonly allowedFailures: readonly string[];
  /** Share of all requests in the drill that may fail with an allowed outcome (default: any number). */
  readonly maxFailedShare?: number;
  /** Requests that must succeed even while the fault is on. */
  readonly mustSucceed?: { readonly why: string; readonly test: (r: ClientResult) => boolean };
  /** Whether SuiteCRM may see requests it never answers (it drops or hangs connections). */
  readonly allowDropped?: boolean;
  /** Most token requests allowed from injection to recovery, given that window in ms. */
  readonly tokenBound: (windowMs: number) => number;
  /** How the bound is stated in the table. */
  readonly tokenBoundText: string;
  readonly recoveryBoundMs: number;
  /**
   * For a fault that holds requests (SuiteCRM never answers them): each ends at the proxy's
   * timeout, which must come within this many ms of its start. Those in flight at the lift end
   * only then, and the load is
   * closed (each caller waits for its answer), so while every caller is held nothing is sent:
   * recovery then counts from the first request sent after the lift, not from the lift itself.
   */
  readonly heldUntilMs?: number;
  /** Says why the drill did not exercise its fault, if it did not (a drill that proves nothing fails). */
  readonly exercised?: (result: DrillResult, ctx: DrillContext) => string | undefined;
}

export interface DrillResult {
  readonly name: string;
  readonly requests: number;
  readonly succeeded: number;
  /** Outcome -> count, for every request that did not succeed. */
  readonly failures: Record<string, number>;
  readonly tokenRequests: number;
  readonly tokenBound: number;
  readonly tokenBoundText: string;
  readonly recoveryMs: number;
  readonly recoveryBoundMs: number;
  readonly slowestMs: number;
  readonly clientTimeoutMs: number;
  readonly replayed: number;
  readonly resent: number;
  readonly dropped: number;
  /** The proxy's failed token requests by grant and cause (from its log). */
  readonly tokenFailures: Record<string, number>;
  readonly holdMs: number;
  /** Shown instead of the recovery time where there is none to measure (the process exits). */
  readonly note?: string;
  readonly violations: string[];
}

const WARM_MIN_OK = 10;
const WARM_MIN_MS = 500;
const WARM_TIMEOUT_MS = 20_000;
/** Recovered: this many successes in a row, started after the fault was lifted. */
const RECOVERED_STREAK = 15;

export function drillEnv(crmUrl: string, spec: Pick<DrillSpec, 'grant' | 'env'>): Record<string, string> {
  return { SUITECRM_URL: crmUrl, ...(spec.grant === 'password' ? PW_ENV : CC_ENV), ...DRILL_ENV, ...spec.env };
}

/** Start of the first request after which every request started so far succeeded, or undefined. */
function recoveredAt(results: readonly ClientResult[], from: number): number | undefined {
  const after = results.filter((r) => r.startedAt >= from).sort((a, b) => a.startedAt - b.startedAt);
  let lastFailure = -1;
  after.forEach((r, i) => {
    if (!r.ok) lastFailure = i;
  });
  const streak = after.slice(lastFailure + 1);
  return streak.length >= RECOVERED_STREAK ? streak[0]!.startedAt : undefined;
}

/** When the first request after `from` was sent (`from` if none was). */
function firstSentAfter(results: readonly ClientResult[], from: number): number {
  let first = Infinity;
  for (const r of results) if (r.startedAt >= from && r.startedAt < first) first = r.startedAt;
  return first === Infinity ? from : first;
}

/** Requests that took longer than `boundMs`: held past the proxy's timeout. */
function heldTooLong(results: readonly ClientResult[], boundMs: number): string[] {
  return results
    .filter((r) => r.endedAt - r.startedAt > boundMs)
    .map((r) => `${r.method} ${r.kind} ${r.id} took ${Math.round(r.endedAt - r.startedAt)} ms, bound ${boundMs} ms`);
}

export interface DrillRig extends DrillContext {
  readonly load: LoadGenerator;
  readonly ledger: UpstreamLedger;
}

/**
 * A fresh double and proxy process, the load running and a healthy baseline reached, for `body`;
 * everything is stopped afterwards, whatever happens.
 */
export async function withDrillRig<T>(spec: Pick<DrillSpec, 'name' | 'grant' | 'crm' | 'env' | 'staleSocketRelay'>, body: (rig: DrillRig) => Promise<T>): Promise<T> {
  const crm = await startFakeSuiteCrm({ quiet: true, ...spec.crm });
  let relay: StaleSocketRelay | undefined;
  let proxy: ProxyProcess | undefined;
  let load: LoadGenerator | undefined;
  try {
    if (spec.staleSocketRelay) relay = await startStaleSocketRelay(crm.port);
    proxy = await spawnProxyProcess(drillEnv(relay?.url ?? crm.url, spec));
    load = new LoadGenerator({ baseUrl: proxy.url, ...DRILL_LOAD, seed: hash(spec.name) });
    const ledger = new UpstreamLedger(crm);
    load.start();
    const warmStart = performance.now();
    const results = load.results;
    while (performance.now() - warmStart < WARM_MIN_MS || results.filter((r) => r.ok).length < WARM_MIN_OK) {
      if (performance.now() - warmStart > WARM_TIMEOUT_MS) throw new Error(`${spec.name}: no healthy baseline within ${WARM_TIMEOUT_MS} ms`);
      if (results.some((r) => !r.ok)) throw new Error(`${spec.name}: a request failed before the fault: ${results.find((r) => !r.ok)!.outcome}`);
      await sleep(50);
    }
    ledger.ingest();
    return await body({ crm, proxy, relay, load, ledger });
  } finally {
    await load?.stop();
    await proxy?.stop();
    await relay?.close();
    await crm.close();
  }
}

/** Outcome -> count of every request that did not succeed. */
export function tallyFailures(results: readonly ClientResult[]): Record<string, number> {
  const failures: Record<string, number> = {};
  for (const r of results) if (!r.ok) failures[r.outcome] = (failures[r.outcome] ?? 0) + 1;
  return failures;
}

/** Violations every drill checks: errors in the proxy log, a dead proxy process. */
export function proxyViolations(proxy: ProxyProcess, expectRunning: boolean): string[] {
  const violations = proxy.events
    .filter((e) => typeof e.level === 'number' && e.level >= 50)
    .map((e) => `proxy logged an error: ${String(e.msg)} ${JSON.stringify(e.err ?? '')}`);
  if (expectRunning && proxy.child.exitCode !== null) violations.push(`the proxy process died (exit ${proxy.child.exitCode})`);
  return violations;
}

/** Failed token requests from the proxy's log, by grant and cause, to explain a failed drill. */
export function tokenFailures(proxy: ProxyProcess): Record<string, number> {
  const failures: Record<string, number> = {};
  for (const e of proxy.events) {
    if (e.event !== 'token_request_failed') continue;
    const key = `${String(e.grant)}: ${String(e.cause)}`;
    failures[key] = (failures[key] ?? 0) + 1;
  }
  return failures;
}

export function slowestMs(results: readonly ClientResult[]): number {
  return Math.max(0, ...results.map((r) => r.endedAt - r.startedAt));
}

export function runDrill(spec: DrillSpec): Promise<DrillResult> {
  return withDrillRig(spec, async ({ crm, proxy, relay, load, ledger }) => {
    const ctx: DrillContext = { crm, proxy, relay };
    const results = load.results;
    const violations: string[] = [];
    const tokensBefore = crm.tokenRequestCount();
    const injectAt = performance.now();
    await spec.inject(ctx);
    await sleep(spec.holdMs);
    await spec.lift(ctx);
    const liftAt = performance.now();

    let recovered: number | undefined;
    const giveUpAt = liftAt + spec.recoveryBoundMs + 5000;
    while ((recovered = recoveredAt(results, liftAt)) === undefined && performance.now() < giveUpAt) {
      await sleep(50);
      ledger.ingest();
    }
    const tokenRequests = crm.tokenRequestCount() - tokensBefore;
    await load.stop();

    const recoveryFrom = spec.heldUntilMs === undefined ? liftAt : firstSentAfter(results, liftAt);
    const recoveryMs = recovered === undefined ? Infinity : Math.max(0, recovered - recoveryFrom);
    if (spec.heldUntilMs !== undefined) violations.push(...heldTooLong(results, spec.heldUntilMs));
    const tokenBound = spec.tokenBound((recovered ?? performance.now()) - injectAt);
    if (recovered === undefined) violations.push(`did not recover within ${spec.recoveryBoundMs + 5000} ms of the fault being lifted`);
    else if (recoveryMs > spec.recoveryBoundMs) violations.push(`recovered after ${Math.round(recoveryMs)} ms, bound ${spec.recoveryBoundMs} ms`);
    if (tokenRequests > tokenBound) violations.push(`${tokenRequests} token requests, bound ${tokenBound} (${spec.tokenBoundText})`);

    const allowed = new Set(spec.allowedFailures);
    for (const r of results) {
      if (r.ok) continue;
      const when = r.endedAt < injectAt ? 'before the fault' : recovered !== undefined && r.startedAt >= recovered ? 'after recovery' : undefined;
      if (when) violations.push(`${r.method} ${r.kind} ${r.id} failed ${when}: ${r.outcome}`);
      else if (!allowed.has(r.outcome)) violations.push(`${r.method} ${r.kind} ${r.id} ended with ${r.outcome}, not one of [${[...allowed].join(', ')}]`);
      if (spec.mustSucceed?.test(r)) violations.push(`${r.method} ${r.kind} ${r.id} failed (${r.outcome}) but ${spec.mustSucceed.why}`);
    }
    const failed = results.filter((r) => !r.ok).length;
    if (spec.maxFailedShare !== undefined && failed > spec.maxFailedShare * results.length) {
      violations.push(`${failed} of ${results.length} requests failed, more than ${spec.maxFailedShare * 100} %`);
    }
    const ledgerSummary = ledger.check(results, { allowDropped: spec.allowDropped ?? false });
    violations.push(...ledgerSummary.violations, ...proxyViolations(proxy, true));

    const result: DrillResult = {
      name: spec.name,
      requests: results.length,
      succeeded: results.filter((r) => r.ok).length,
      failures: tallyFailures(results),
      tokenRequests,
      tokenBound,
      tokenBoundText: spec.tokenBoundText,
      recoveryMs,
      recoveryBoundMs: spec.recoveryBoundMs,
      slowestMs: slowestMs(results),
      clientTimeoutMs: DRILL_LOAD.clientTimeoutMs,
      replayed: ledgerSummary.replayed,
      resent: ledgerSummary.resent,
      dropped: ledgerSummary.dropped,
      tokenFailures: tokenFailures(proxy),
      holdMs: spec.holdMs,
      violations,
    };
    const notExercised = spec.exercised?.(result, ctx);
    if (notExercised) violations.push(`the drill did not exercise its fault: ${notExercised}`);
    return result;
  });
}

/** A stable seed per drill name. */
function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
