/**
 * Metrics of the local token endpoint, in the app's registry (see src/admin/metrics.ts): logins by
 * caller and outcome, and the local sessions each caller holds. A client id that names no caller
 * is counted as "-": it is whatever the request said, so it never becomes a label.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../admin/metric-names.js';
import type { LocalSessions } from './local-sessions.js';

export const LOGIN_OUTCOMES = ['success', 'rejected', 'malformed', 'rate_limited', 'throttled'] as const;
export type LoginOutcome = (typeof LOGIN_OUTCOMES)[number];

/** Called once per token request the local endpoint answers. */
export type LoginObserver = (caller: string | undefined, outcome: LoginOutcome) => void;

export function localLoginMetrics(registry: Registry, store: Pick<LocalSessions, 'sessionsByCaller'>): LoginObserver {
  const logins = new Counter({
    name: `${METRIC_PREFIX}local_logins_total`,
    help: 'Token requests answered by the local token endpoint, by caller ("-" when the client id names none) and outcome (success, rejected, malformed, rate_limited, throttled).',
    labelNames: ['caller', 'outcome'], registers: [registry],
  });
  new Gauge({
    name: `${METRIC_PREFIX}local_sessions`, help: 'Local sessions (logins not yet expired, logged out or evicted) each caller holds, in all the processes that share them.',
    labelNames: ['caller'], registers: [registry],
    // Every PROXY_WORKERS worker reports the group's count: summing them would count it N times.
    aggregator: 'max',
    async collect() {
      const counts = await store.sessionsByCaller().catch(() => undefined);
      this.reset();
      for (const [caller, count] of counts ?? []) this.set({ caller }, count);
    },
  });
  return (caller, outcome) => logins.inc({ caller: caller ?? '-', outcome });
}
