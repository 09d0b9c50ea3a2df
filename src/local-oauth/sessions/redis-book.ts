/**
 * Local sessions in Redis (TOKEN_STORE=redis): a token issued by any replica works on every
 * replica, a refresh spends its refresh token once for the fleet, a logout ends the session
 * everywhere, and the limits hold for the fleet (redis-scripts.ts, one atomic script each). Redis
 * holds HMAC digests only (token-digest.ts), never a token.
 *
 * The hot path does not touch Redis: each replica keeps a SessionCache of the sessions it has seen,
 * emptied of ended ones by what the scripts publish. While Redis cannot be used (RedisHome says so,
 * once, in the log and readiness) nothing waits on it: the sessions this replica has seen keep
 * working from its cache, new logins are kept here (`own`, a MemorySessionBook with the same
 * limits), and logouts of shared sessions are remembered. When Redis is back (redis-resync.ts) the
 * replica shares its own sessions, replays those logouts and checks its copies again; if Redis
 * lost its data meanwhile, it puts back the sessions it has seen as well.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisHome } from '../../shared-state/redis-home.js';
import { keyId } from '../../shared-state/key-id.js';
import { MemorySessionBook } from './memory-book.js';
import { defineSessionCommands } from './redis-commands.js';
import { sessionFields, sessionFromHash } from './redis-record.js';
import { resync, type ResyncState } from './redis-resync.js';
import type { RefreshAnswer, RefreshRefusal, SessionBook, SessionChange, SessionRecord } from './session-book.js';
import { SessionCache } from './session-cache.js';
import type { SessionLimits } from './session-table.js';

export interface RedisSessionBookOptions {
  readonly home: RedisHome;
  readonly limits: SessionLimits;
  readonly cacheMax: number;
  /** TOKEN_STORE_PREFIX. */
  readonly prefix: string;
  /** TOKEN_STORE_KEY: its fingerprint names the keys, so replicas with another key never mix digests. */
  readonly key: Buffer;
  readonly logger: Logger;
  /** Epoch ms clock, shared by the replicas (expiry is kept on it). */
  readonly now?: () => number;
}

/** Most logouts of shared sessions remembered while Redis is down. */
const MAX_PENDING_ENDS = 10_000;

export class RedisSessionBook implements SessionBook, ResyncState {
  readonly cache: SessionCache;
  readonly own: MemorySessionBook;
  readonly pendingEnds = new Map<string, SessionRecord>();
  readonly base: string;
  readonly channel: string;
  readonly log: Logger;
  epoch: string | undefined;
  private readonly client: Redis;
  private readonly listeners = new Set<(change: SessionChange) => void>();
  private readonly detach: Array<() => void> = [];
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  private closed = false;

  constructor(private readonly opts: RedisSessionBookOptions) {
    this.client = opts.home.client;
    defineSessionCommands(this.client);
    this.base = `${opts.prefix}:{sessions:${keyId(opts.key)}}`;
    this.channel = `${this.base}:ended`;
    this.log = opts.logger.child({ component: 'local-sessions', store: 'redis' });
    this.cache = new SessionCache({ max: opts.cacheMax, load: (digest) => this.load(digest) });
    this.own = new MemorySessionBook(opts.limits, opts.now);
    // Sessions of this replica evicted by its own limits while Redis is down.
    this.own.onChange((change) => this.announce(change));
    const home = opts.home;
    const again = (): void => { void this.resyncOnce(); };
    // 'ready' comes on every connection, right after the 'up' of a reconnection: it only starts the
    // first sync, or a reconnection would run a second, full resync behind the one 'up' started.
    const connected = (): void => { if (this.epoch === undefined && this.resyncing === undefined) again(); };
    const lost = (): void => { if (home.usable()) again(); };
    home.on('ready', connected);
    home.on('up', again);
    home.on('resubscribed', lost);
    this.detach.push(() => home.off('ready', connected), () => home.off('up', again), () => home.off('resubscribed', lost),
      home.subscribe(this.channel, (message) => this.heard(message.split(','))));
    if (home.usable()) again();
  }

  now(): number {
    return (this.opts.now ?? Date.now)();
  }

  peek(accessDigest: string): SessionRecord | null | undefined {
    return this.own.get(accessDigest) ?? this.cache.peek(accessDigest);
  }

  async find(accessDigest: string): Promise<SessionRecord | null> {
    return this.own.get(accessDigest) ?? this.cache.find(accessDigest);
  }

  async add(session: SessionRecord): Promise<void> {
    if (await this.usable()) {
      try {
        this.heard(await this.command((c) => c.sessionAdd(...this.addArgs(session, false))));
        this.cache.set(session);
        return;
      } catch {
        // Redis failed under us: keep the session here, shared once Redis is back.
      }
    }
    this.own.addNow(session);
  }

  async refresh(refreshDigest: string, caller: string, next: SessionRecord | undefined): Promise<RefreshAnswer> {
    if (this.own.holdsRefresh(refreshDigest)) return this.own.refreshNow(refreshDigest, caller, next);
    // A shared refresh token is spent once for the fleet, which only Redis can promise: while it is
    // down the tool is refused as for a spent token and logs in again (served here).
    if (!(await this.usable())) return { ok: false, refusal: 'revoked' };
    let answer: string[];
    try {
      const { maxPerCaller, maxTotal } = this.opts.limits;
      answer = await this.command((c) => c.sessionRefresh(this.base, this.now(), maxPerCaller, maxTotal, this.channel,
        refreshDigest, caller, next === undefined ? '0' : '1', ...(next === undefined ? [] as [] : sessionFields(next))));
    } catch {
      return { ok: false, refusal: 'revoked' };
    }
    const [kind, oldDigest, ...hash] = answer;
    const old = kind === 'ok' && oldDigest !== undefined ? sessionFromHash(oldDigest, hash) : undefined;
    if (old === undefined) return { ok: false, refusal: (kind === 'ok' ? 'revoked' : kind) as RefreshRefusal };
    if (next !== undefined) {
      this.cache.ended([old.accessDigest]);
      this.cache.set(next);
    }
    return { ok: true, old };
  }

  async end(session: SessionRecord): Promise<void> {
    this.cache.ended([session.accessDigest]);
    if (this.own.endNow(session)) return;
    if (await this.usable()) {
      try {
        await this.command((c) => c.sessionEnd(this.base, this.now(), this.channel, session.accessDigest, session.forgetAt));
        return;
      } catch {
        // Remembered below and replayed when Redis is back.
      }
    }
    this.rememberEnd(session);
  }

  async countsByCaller(): Promise<ReadonlyMap<string, number>> {
    const counts = new Map(this.own.counts());
    if (!(await this.usable())) return counts;
    const flat = await this.command((c) => c.sessionCounts(this.base, this.now())).catch(() => []);
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const caller = String(flat[i]);
      counts.set(caller, (counts.get(caller) ?? 0) + Number(flat[i + 1]));
    }
    return counts;
  }

  onChange(listener: (change: SessionChange) => void): void {
    this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.detach.splice(0)) stop();
    this.listeners.clear();
    this.cache.clear();
    await this.resyncing;
  }

  /** ADD_SCRIPT's arguments for one session. */
  addArgs(session: SessionRecord, onlyIfAbsent: boolean): Parameters<Redis['sessionAdd']> {
    const { maxPerCaller, maxTotal } = this.opts.limits;
    return [this.base, this.now(), maxPerCaller, maxTotal, this.channel, onlyIfAbsent ? '1' : '0', ...sessionFields(session)];
  }

  /** One command; a failure marks Redis down (RedisHome logs it once) and is thrown. */
  async command<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    try {
      const result = await run(this.client);
      this.opts.home.commandWorked();
      return result;
    } catch (err) {
      this.opts.home.commandFailed(err);
      throw err;
    }
  }

  /** Sessions ended elsewhere (or by a script of ours): copies dropped here and, in a PROXY_WORKERS primary, in the workers. */
  heard(digests: readonly string[]): void {
    const ended = digests.filter((d) => d !== '');
    if (ended.length === 0) return;
    this.cache.ended(ended);
    this.announce({ ended });
  }

  announce(change: SessionChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private async load(accessDigest: string): Promise<SessionRecord | null> {
    // Thrown: the cache keeps what it has (the sessions seen keep working while Redis is down).
    if (!(await this.usable())) throw new Error('Redis is not usable');
    const flat = await this.command((c) => c.sessionFind(this.base, this.now(), accessDigest));
    return flat === null ? null : (sessionFromHash(accessDigest, flat) ?? null);
  }

  /** Waits for the first connection (bounded, RedisHome.ready); afterwards answers at once. */
  private usable(): Promise<boolean> {
    return this.closed ? Promise.resolve(false) : this.opts.home.ready();
  }

  private rememberEnd(session: SessionRecord): void {
    this.pendingEnds.set(session.accessDigest, session);
    if (this.pendingEnds.size > MAX_PENDING_ENDS) this.pendingEnds.delete(this.pendingEnds.keys().next().value as string);
  }

  /** One resync at a time; a recovery announced meanwhile runs another one after it. */
  private resyncOnce(): Promise<void> {
    if (this.resyncing !== undefined) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = resync(this).finally(() => {
      this.resyncing = undefined;
      if (this.resyncAgain && !this.closed) {
        this.resyncAgain = false;
        void this.resyncOnce();
      }
    });
    return this.resyncing;
  }
}
