/**
 * Failed logins at the local token endpoint, counted in fixed one-minute windows at two levels:
 * - per (client address, client id), past LOCAL_LOGIN_FAILURES_PER_MINUTE: that client id is
 *   refused (429) from that address, so a misconfigured tool only slows itself, even when every
 *   tool shares one address (loopback);
 * - per client address, past LOCAL_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE, whatever the client id:
 *   every token request from that address is refused, so client ids cannot be guessed either.
 * A refused request's credentials are not looked at, so secrets and passwords cannot be guessed
 * at network speed. SuiteCRM itself has no such limit (§8.5).
 *
 * The windows are SharedCounters (src/shared-state/), so they hold for a PROXY_WORKERS group and
 * a Redis fleet as for one process. Checking and counting are one step: an attempt is counted
 * before its credentials are checked, and the count is taken back when they turn out right (or
 * the request is refused anyway). So concurrent guesses on several replicas cannot all pass the
 * check before any of them is counted; an attempt in flight counts as a failure until it ends.
 */
import { sha256 } from '../config/secret-text.js';
import { waitSeconds } from '../errors.js';
import type { SharedCounters } from '../shared-state/counters.js';

const WINDOW_MS = 60_000;

export interface ThrottleLimits {
  /** Per (address, client id); 0 turns this level off. */
  readonly perClient: number;
  /** Per address across client ids; 0 turns this level off. */
  readonly perAddress: number;
}

export type ThrottleScope = 'address' | 'client';

/** An attempt counted by `LoginThrottle.attempt`. */
export interface CountedAttempt {
  /** Set when the attempt is refused: the level that refused it and the seconds until it may try again. */
  readonly blocked: { readonly scope: ThrottleScope; readonly waitSeconds: number } | undefined;
  /** Ends an attempt that was not blocked: a failure stays counted, anything else is taken back. */
  settle(failed: boolean): Promise<void>;
}

/**
 * The (address, client id) key. The client id is digested (a non-string id by its JSON text): a
 * tool that sends its secret in the client id field (swapped settings) must not put it in Redis
 * keys, and the key has one length whatever was sent.
 */
export function clientKey(address: string, clientId: unknown): string {
  const id = typeof clientId === 'string' ? clientId : (JSON.stringify(clientId) ?? '');
  return `${address}|${sha256(id).toString('base64url').slice(0, 22)}`;
}

/** The window counting an address's failed logins, with any client id. */
function addressKey(address: string): string {
  return `login-failures:address:${address}`;
}

interface Level {
  readonly scope: ThrottleScope;
  readonly key: string;
  readonly max: number;
}

export class LoginThrottle {
  constructor(private readonly limits: ThrottleLimits, private readonly counters: SharedCounters) {}

  /** Seconds until `address` may try again with any client id, or undefined when it may try now (counts nothing). */
  async addressBlockedFor(address: string): Promise<number | undefined> {
    if (this.limits.perAddress === 0) return undefined;
    const window = await this.counters.add(addressKey(address), WINDOW_MS, 0);
    return window.count >= this.limits.perAddress ? waitSeconds(window.resetInMs) : undefined;
  }

  /** Counts an attempt from `address` with `clientId` at both levels, and says whether it is blocked. */
  async attempt(address: string, clientId: unknown): Promise<CountedAttempt> {
    const levels: Level[] = [
      { scope: 'address', key: addressKey(address), max: this.limits.perAddress },
      { scope: 'client', key: `login-failures:client:${clientKey(address, clientId)}`, max: this.limits.perClient },
    ];
    const counted = levels.filter((level) => level.max > 0);
    const windows = await Promise.all(counted.map((level) => this.counters.add(level.key, WINDOW_MS, 1)));
    const takeBack = async (): Promise<void> => {
      await Promise.all(counted.map((level) => this.counters.add(level.key, WINDOW_MS, -1)));
    };
    const over = counted.findIndex((level, i) => windows[i]!.count > level.max);
    if (over >= 0) {
      await takeBack();
      return { blocked: { scope: counted[over]!.scope, waitSeconds: waitSeconds(windows[over]!.resetInMs) }, settle: async () => undefined };
    }
    return { blocked: undefined, settle: (failed) => (failed ? Promise.resolve() : takeBack()) };
  }
}
