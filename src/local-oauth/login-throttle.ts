/**
 * Failed logins at the local token endpoint, counted in fixed one-minute windows at two levels:
 * - per (client address, client id), past LOCAL_LOGIN_FAILURES_PER_MINUTE: that client id is
 *   refused (429) from that address, so a misconfigured tool only slows itself, even when every
 *   tool shares one address (loopback);
 * - per client address, past LOCAL_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE, whatever the client id:
 *   every token request from that address is refused, so client ids cannot be guessed either.
 * A refused request's credentials are not looked at, so secrets and passwords cannot be guessed
 * at network speed. SuiteCRM itself has no such limit (§8.5). Memory is bounded: at most
 * MAX_WINDOWS windows per level are tracked, least recently seen dropped.
 */
import { LRUCache } from 'lru-cache';

const WINDOW_MS = 60_000;
const MAX_WINDOWS = 10_000;
/** Client ids are at most 255 characters; a longer one names no caller and needs no more key. */
const MAX_CLIENT_ID_KEY = 256;

interface Window {
  failures: number;
  readonly endsAt: number;
}

export interface ThrottleLimits {
  /** Per (address, client id); 0 turns this level off. */
  readonly perClient: number;
  /** Per address across client ids; 0 turns this level off. */
  readonly perAddress: number;
}

/** The (address, client id) key: a non-string id (JSON) is keyed by its JSON text; long ids are cut. */
export function clientKey(address: string, clientId: unknown): string {
  const id = typeof clientId === 'string' ? clientId : (JSON.stringify(clientId) ?? '');
  return `${address}\n${id.slice(0, MAX_CLIENT_ID_KEY)}`;
}

class Windows {
  private readonly windows: LRUCache<string, Window>;

  constructor(private readonly max: number, private readonly now: () => number) {
    this.windows = new LRUCache({ max: MAX_WINDOWS, ttl: WINDOW_MS, perf: { now } });
  }

  blockedFor(key: string): number | undefined {
    if (this.max === 0) return undefined;
    const window = this.windows.get(key);
    const now = this.now();
    if (window === undefined || now >= window.endsAt || window.failures < this.max) return undefined;
    return Math.max(1, Math.ceil((window.endsAt - now) / 1000));
  }

  failed(key: string): void {
    if (this.max === 0) return;
    const now = this.now();
    const window = this.windows.get(key);
    if (window === undefined || now >= window.endsAt) this.windows.set(key, { failures: 1, endsAt: now + WINDOW_MS });
    else window.failures++;
  }
}

export class LoginThrottle {
  private readonly byClient: Windows;
  private readonly byAddress: Windows;

  constructor(limits: ThrottleLimits, now: () => number = Date.now) {
    this.byClient = new Windows(limits.perClient, now);
    this.byAddress = new Windows(limits.perAddress, now);
  }

  /** Seconds until `address` may try again with any client id, or undefined when it may try now. */
  addressBlockedFor(address: string): number | undefined {
    return this.byAddress.blockedFor(address);
  }

  /** Seconds until `address` may try again with `clientId`, or undefined when it may try now. */
  clientBlockedFor(address: string, clientId: unknown): number | undefined {
    return this.byClient.blockedFor(clientKey(address, clientId));
  }

  failed(address: string, clientId: unknown): void {
    this.byAddress.failed(address);
    this.byClient.failed(clientKey(address, clientId));
  }
}
