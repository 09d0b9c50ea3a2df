/**
 * What arrived at the SuiteCRM double, per drill request id, checked against what the caller
 * sent and saw: byte-identical bodies, nothing applied twice, nothing applied that the caller was
 * told failed, only 401s replayed, non-idempotent requests never re-sent after a network error.
 */
import type { FakeSuiteCrm, RecordedRequest } from '../fake-suitecrm.js';
import { DRILL_ID_HEADER, type ClientResult } from './load.js';

/** A recorded upstream request without its headers (the soak keeps many). */
type Arrival = Omit<RecordedRequest, 'headers'>;

/** Methods the proxy may re-send once on a fresh socket (src/proxy/forward.ts). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface LedgerSummary {
  /** Requests that arrived upstream more than once because SuiteCRM answered 401 first. */
  readonly replayed: number;
  /** Idempotent requests re-sent after a network error. */
  readonly resent: number;
  /** Arrivals SuiteCRM never answered (connection reset, hang, restart). */
  readonly dropped: number;
  /** Every violation found, as readable sentences; empty means all held. */
  readonly violations: string[];
}

export class UpstreamLedger {
  private readonly arrivals = new Map<string, Arrival[]>();
  private orphans = 0;

  constructor(private readonly crm: FakeSuiteCrm) {}

  /**
   * Moves the double's records into the ledger (dropping headers, keeping the live objects so
   * statuses set later still show). Call often in long runs to keep memory flat.
   */
  ingest(): void {
    const records = this.crm.requests.splice(0, this.crm.requests.length);
    for (const record of records) {
      const id = record.headers[DRILL_ID_HEADER];
      (record as Partial<RecordedRequest>).headers = undefined;
      if (typeof id !== 'string') {
        this.orphans += 1;
        continue;
      }
      const list = this.arrivals.get(id);
      if (list) list.push(record);
      else this.arrivals.set(id, [record]);
    }
  }

  /** Forgets the arrivals of these (already checked) requests. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.arrivals.delete(id);
  }

  /**
   * Checks finished client requests against their arrivals. `complete`: these are all the
   * requests sent so far, so an arrival no caller accounts for is a violation too.
   */
  check(results: readonly ClientResult[], { allowDropped, complete = true }: { allowDropped: boolean; complete?: boolean }): LedgerSummary {
    this.ingest();
    const violations: string[] = [];
    let replayed = 0;
    let resent = 0;
    let dropped = 0;
    const seen = new Set<string>();
    for (const result of results) {
      seen.add(result.id);
      const arrivals = this.arrivals.get(result.id) ?? [];
      const where = `${result.method} ${result.kind} ${result.id} (${result.outcome})`;
      for (const a of arrivals) {
        if (a.status === 0) {
          dropped += 1;
          if (!allowDropped) violations.push(`${where}: arrived but SuiteCRM never answered it`);
        }
        // The double fills length and hash only once it has read the whole body.
        const complete = a.bodyLength === result.sentLength && a.bodySha256 === result.sentSha256;
        if (!complete && a.status !== 0) violations.push(`${where}: body arrived altered (${a.bodyLength} of ${result.sentLength} bytes)`);
      }
      const applied = arrivals.filter((a) => a.applied).length;
      if (applied > 1) violations.push(`${where}: applied ${applied} times`);
      if (result.ok && applied !== 1) violations.push(`${where}: the caller saw success but SuiteCRM applied it ${applied} times`);
      if (!result.ok && result.outcome !== 'HANG' && applied !== 0) violations.push(`${where}: the caller saw a failure but SuiteCRM applied it`);
      // Every re-send must follow a 401 (replay) or, for idempotent methods only, a dropped connection.
      for (let i = 1; i < arrivals.length; i++) {
        const previous = arrivals[i - 1]!;
        if (previous.status === 401) replayed += 1;
        else if (previous.status === 0 && IDEMPOTENT.has(result.method)) resent += 1;
        else violations.push(`${where}: re-sent after ${previous.status === 0 ? 'a dropped connection (not idempotent)' : `a ${previous.status} answer`}`);
      }
      const replays = arrivals.filter((a, i) => i > 0 && arrivals[i - 1]!.status === 401).length;
      if (replays > 1) violations.push(`${where}: replayed ${replays} times (at most once)`);
      if (result.status !== undefined && result.outcome === `upstream ${result.status}` && arrivals.at(-1)?.status !== result.status) {
        violations.push(`${where}: the caller got ${result.status} but SuiteCRM's last answer was ${arrivals.at(-1)?.status ?? 'none'}`);
      }
    }
    if (complete) {
      for (const id of this.arrivals.keys()) {
        if (!seen.has(id)) violations.push(`${id}: arrived at SuiteCRM but no caller sent it`);
      }
    }
    if (this.orphans > 0) violations.push(`${this.orphans} requests arrived without a drill id`);
    return { replayed, resent, dropped, violations };
  }
}
