/**
 * suitecrm_proxy_config_reloads_total: counted by the process that reloads, the app itself or the
 * PROXY_WORKERS primary (whose count the group's scrape shows; the workers follow its reloads).
 */
import { Counter, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './metric-names.js';

export const RELOAD_OUTCOMES = ['success', 'failed'] as const;
export type ReloadOutcome = (typeof RELOAD_OUTCOMES)[number];

/** Registers the counter (every outcome at 0) and returns the function that counts one reload. */
export function configReloadCounter(registry: Registry): (outcome: ReloadOutcome) => void {
  const reloads = new Counter({
    name: `${METRIC_PREFIX}config_reloads_total`, help: 'Configuration reloads (SIGHUP, a changed config or secret file), by outcome: success (applied) or failed (invalid, nothing changed).',
    labelNames: ['outcome'], registers: [registry],
  });
  for (const outcome of RELOAD_OUTCOMES) reloads.inc({ outcome }, 0);
  return (outcome) => reloads.inc({ outcome });
}
