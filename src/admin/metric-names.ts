/**
 * Names shared by the metric modules and the PROXY_WORKERS aggregation (src/cluster/), kept apart
 * from metrics.ts so a primary, which serves no HTTP, does not load the proxy route to learn them.
 */
export const METRIC_PREFIX = 'suitecrm_proxy_';

/** Our own figures of one process (beside prom-client's process_* and nodejs_* defaults). */
export const IN_FLIGHT_METRIC = `${METRIC_PREFIX}requests_in_flight`;

/**
 * A figure of one process, not of the group: prom-client's default metrics (CPU, memory, event
 * loop, GC) and the requests one process holds. Under PROXY_WORKERS each carries a `worker` label.
 */
export function isPerProcessMetric(name: string): boolean {
  return name.startsWith('process_') || name.startsWith('nodejs_') || name === IN_FLIGHT_METRIC;
}
