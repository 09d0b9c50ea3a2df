/**
 * Exponential backoff with jitter: attempt 1 waits about `baseMs`, each further attempt doubles,
 * never more than `maxMs`. The jitter keeps a fleet of proxies from retrying in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  // "Equal jitter": between half and all of the exponential delay.
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}
