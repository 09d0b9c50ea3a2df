/**
 * The sessions a process has seen, when they live elsewhere (the PROXY_WORKERS primary, Redis):
 * a request whose token is known is authenticated from here without waiting, and only a token
 * never seen (or not seen for a while) costs one question. lru-cache does the work: `fetch` with
 * `fetchMethod` is the single flight (a hundred requests with a new token ask once), `max` bounds
 * memory, the TTL is the revalidation interval.
 *
 * What keeps the copies true: where the sessions live announces every session that ends (logout,
 * rotation, eviction) and `ended()` replaces the copy by a tombstone at once; if an announcement
 * is lost (a reconnect), `clear()` drops everything. As a safety net every copy is asked about
 * again after SESSION_REVALIDATE_MS, in the background (the request that finds it stale is still
 * served from it): a session ended elsewhere is refused here at the latest that long (plus one
 * round trip) after it ended, even with every announcement lost.
 */
import { LRUCache } from 'lru-cache';
import type { SessionRecord } from './session-book.js';

/** How often a cached session is checked again where it lives (the bound if an announcement is lost). */
const SESSION_REVALIDATE_MS = 10_000;
/** How long "there is no such session" is believed: a burst of a stale token asks once. */
const NO_SESSION_TTL_MS = 2_000;

const NO_SESSION = Object.freeze({ none: true as const });
type Entry = SessionRecord | typeof NO_SESSION;

function isSession(entry: Entry | undefined): entry is SessionRecord {
  return entry !== undefined && !('none' in entry);
}

export interface SessionCacheOptions {
  /** Most entries kept (sessions and tombstones). */
  readonly max: number;
  /** Asks where the sessions live: null when there is no such session; throws when it cannot tell (what was cached stays). */
  readonly load: (accessDigest: string) => Promise<SessionRecord | null>;
  readonly revalidateMs?: number;
  /** Monotonic milliseconds clock for the TTLs; tests pass a fake one. */
  readonly now?: () => number;
}

export class SessionCache {
  private readonly cache: LRUCache<string, Entry>;

  constructor(opts: SessionCacheOptions) {
    this.cache = new LRUCache<string, Entry>({
      max: opts.max,
      ttl: opts.revalidateMs ?? SESSION_REVALIDATE_MS,
      // A stale copy is served while it is checked again, and kept when the check fails (Redis down).
      allowStale: true,
      noDeleteOnStaleGet: true,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      fetchMethod: async (digest, _stale, { options }) => {
        const found = await opts.load(digest);
        if (found !== null) return found;
        options.ttl = NO_SESSION_TTL_MS;
        return NO_SESSION;
      },
      // A fake clock is read on every check (lru-cache otherwise reuses a reading for 1 ms of real time).
      ...(opts.now === undefined ? {} : { perf: { now: opts.now }, ttlResolution: 0 }),
    });
  }

  /** The copy: a session, null (known not to be one), or undefined (not known: `find` it). */
  peek(accessDigest: string): SessionRecord | null | undefined {
    const status: LRUCache.Status<string, Entry> = {};
    const entry = this.cache.get(accessDigest, { status });
    if (entry === undefined) return undefined;
    if (!isSession(entry)) return status.get === 'stale' || status.get === 'stale-fetching' ? undefined : null;
    if (status.get === 'stale') this.cache.fetch(accessDigest).catch(() => undefined);
    return entry;
  }

  /** Asks where the sessions live unless the copy is fresh; null when there is no such session or nobody can tell. */
  async find(accessDigest: string): Promise<SessionRecord | null> {
    const status: LRUCache.Status<string, Entry> = {};
    let entry = await this.cache.fetch(accessDigest, { status }).catch(() => undefined);
    // A clear() dropped the question midway (a reconnect): ask again. After ended() this finds the tombstone.
    if (status.fetchAborted === true) entry = await this.cache.fetch(accessDigest).catch(() => undefined);
    return isSession(entry) ? entry : null;
  }

  /** A session this process just started or rotated in. */
  set(session: SessionRecord): void {
    this.cache.set(session.accessDigest, session);
  }

  /** Sessions that ended: refused from now on (a question about them in flight is dropped). */
  ended(accessDigests: readonly string[]): void {
    for (const digest of accessDigests) this.cache.set(digest, NO_SESSION, { ttl: NO_SESSION_TTL_MS });
  }

  /** Every session held, fresh or stale (to share again after Redis lost its data). */
  sessions(): SessionRecord[] {
    return [...this.cache.values()].filter(isSession);
  }

  clear(): void {
    this.cache.clear();
  }
}
