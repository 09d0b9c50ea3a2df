/**
 * A token store on Redis (TOKEN_STORE=redis): every proxy replica that shares the Redis and the
 * credential shares one SuiteCRM token.
 *
 * Renewal: look for a usable token another replica stored (not the generation being replaced);
 * else take the lock (SET NX PX, unique owner) and a fencing number, call SuiteCRM with the
 * newest refresh token from Redis, store the token sealed with AES-256-GCM, release, publish.
 * Replicas that find the lock taken wait for the announcement (pub/sub, with short polling as a
 * safety net) instead of calling SuiteCRM. The lease is extended while the grant is in flight.
 *
 * The connections are the process's RedisHome (src/shared-state/), shared by every credential and
 * the other shared features: no offline queue, short command timeouts, so Redis trouble never
 * blocks a request for long, and every failure surfaces as TokenStoreUnavailableError so the
 * manager renews alone meanwhile. Each credential still logs its own token_store_* lines.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { TokenRequestError, type Token } from '../grant.js';
import type { RedisHome } from '../../shared-state/redis-home.js';
import { defineTokenCommands } from './token-commands.js';
import { keyId } from '../../shared-state/key-id.js';
import { decodeToken, encodeToken, type RecordClocks } from './token-record.js';
import { TokenStoreUnavailableError, type GrantFunction, type StoredToken, type TokenStore } from '../token-store.js';

export interface RedisTokenStoreOptions {
  /** The process's Redis connections. */
  readonly home: RedisHome;
  /** 32-byte AES-256-GCM key (TOKEN_STORE_KEY). */
  readonly key: Buffer;
  /** Key prefix; the credential key is appended so several credentials can share one Redis. */
  readonly prefix: string;
  readonly credentialKey: string;
  /** Longest a renewal waits for another replica's renewal before giving up. */
  readonly waitBudgetMs: number;
  readonly logger: Logger;
  /** The manager's clock, on which Token.receivedAt is counted. */
  readonly now?: () => number;
  /** Wall clock shared by replicas (epoch ms); expiry in Redis is kept on it. */
  readonly wallClock?: () => number;
  readonly leaseMs?: number;
  readonly pollMs?: number;
}

const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_POLL_MS = 200;
/** A stored token with less usable time left than this is renewed rather than adopted. */
const MIN_ADOPT_REMAINING_MS = 1_000;

export class RedisTokenStore implements TokenStore {
  readonly kind = 'redis';
  private readonly home: RedisHome;
  private readonly client: Redis;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly wall: () => number;
  private readonly clocks: RecordClocks;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly keys: { record: string; lock: string; fence: string; channel: string };
  private readonly waiters = new Set<(generation: string) => void>();
  private readonly listeners = new Set<(generation: number) => void>();
  private readonly detach: Array<() => void> = [];
  private connectedLogged = false;
  private undecryptableLogged = false;
  private degraded = false;
  private closed = false;

  constructor(private readonly opts: RedisTokenStoreOptions) {
    this.home = opts.home;
    this.client = opts.home.client;
    this.log = opts.logger.child({ component: 'token-store', store: 'redis', redis: opts.home.target });
    this.now = opts.now ?? Date.now;
    this.wall = opts.wallClock ?? Date.now;
    this.clocks = { now: this.now, wall: this.wall };
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
    // One hash tag per credential and key: a replica with another TOKEN_STORE_KEY forms its own
    // group instead of overwriting a record the others cannot read (and vice versa).
    const storeKeyId = keyId(opts.key);
    const base = `${opts.prefix}:{${opts.credentialKey}:${storeKeyId}}`;
    this.keys = { record: `${base}:token`, lock: `${base}:lock`, fence: `${base}:fence`, channel: `${base}:renewed` };
    defineTokenCommands(this.client);

    const connected = (): void => {
      if (!this.connectedLogged) this.log.info({ event: 'token_store_connected', keyId: storeKeyId }, 'connected to the Redis token store (replicas share a token only if their keyId matches)');
      this.connectedLogged = true;
      this.markUp();
    };
    const down = (reason: string): void => this.markDown(reason);
    const up = (): void => this.markUp();
    this.home.on('ready', connected);
    this.home.on('down', down);
    this.home.on('up', up);
    this.detach.push(
      () => this.home.off('ready', connected), () => this.home.off('down', down), () => this.home.off('up', up),
      this.home.subscribe(this.keys.channel, (message) => this.announce(message)),
    );
    // The home may have connected (or failed) before this credential was added (a reload).
    const status = this.home.status();
    if (status.connected) connected();
    else if (status.reason !== undefined && status.since !== undefined) this.markDown(status.reason);
  }

  shared(): boolean {
    return !this.degraded && this.home.usable();
  }

  async renew(known: number | undefined, grant: GrantFunction): Promise<StoredToken> {
    await this.ready();
    const knownGeneration = String(known ?? 0);
    const deadline = this.now() + this.opts.waitBudgetMs;
    const maxRounds = Math.ceil(this.opts.waitBudgetMs / this.pollMs) + 10;
    for (let round = 0; round < maxRounds; round++) {
      if (this.closed) throw new TokenStoreUnavailableError('closed', 'the Redis token store is closing');
      const owner = randomBytes(16).toString('hex');
      const claim = await this.command(() => this.client.tokenClaim(
        this.keys.record, this.keys.lock, this.keys.fence, knownGeneration, owner, this.leaseMs, this.wall() + MIN_ADOPT_REMAINING_MS),
      // A timed-out claim may still run once Redis catches up: release what it may take (queued behind it).
      () => this.client.tokenRelease(this.keys.lock, owner));
      const [kind, first, second, third] = claim;
      if (kind === 'current') {
        const adopted = this.unseal(String(first), String(second));
        if (adopted === undefined) throw this.undecryptable();
        return adopted;
      }
      if (kind === 'lock') {
        const previous = typeof second === 'string' && typeof third === 'string' ? this.unseal(second, third) : undefined;
        if (previous === undefined && typeof third === 'string') {
          // Tampered or foreign: never replace a record this replica cannot read.
          this.client.tokenRelease(this.keys.lock, owner).catch(() => { /* the lease expires on its own */ });
          throw this.undecryptable();
        }
        return this.grantHoldingLock(String(first), owner, previous, grant);
      }
      const remaining = deadline - this.now();
      if (remaining <= 0) break;
      await this.waitForAnnouncement(knownGeneration, Math.min(remaining, this.pollMs));
    }
    throw new TokenRequestError('transient', 'token_store_wait_timeout',
      'another proxy replica holds the token renewal lock and has not stored a token in time (is SuiteCRM slow?)');
  }

  invalidate(generation: number): void {
    if (!this.home.usable()) return;
    this.client.tokenInvalidate(this.keys.record, String(generation)).then(
      (changed) => { if (changed === 1) this.log.info({ event: 'token_store_invalidated', generation }, 'marked the shared token as rejected'); },
      (err: unknown) => this.markDown(this.home.commandFailed(err)),
    );
  }

  async latest(): Promise<StoredToken | undefined> {
    if (!this.home.usable()) return undefined;
    const [generation, valid, until, blob] = await this.command(() => this.client.hmget(this.keys.record, 'gen', 'valid', 'until', 'blob'));
    if (!generation || valid !== '1' || !blob || Number(until) <= this.wall() + MIN_ADOPT_REMAINING_MS) return undefined;
    return this.unseal(generation, blob);
  }

  onRenewed(listener: (generation: number) => void): void {
    this.listeners.add(listener);
  }

  /** Stops listening; the connections belong to the home, which the app closes. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters) waiter('closing');
    for (const stop of this.detach.splice(0)) stop();
  }

  /** Waits for the first connection (bounded, RedisHome.ready); afterwards fails fast whenever Redis is not usable. */
  private async ready(): Promise<void> {
    if (!this.closed && (await this.home.ready())) return;
    throw new TokenStoreUnavailableError('not_connected', 'the Redis token store is not connected');
  }

  private async command<T>(run: () => Promise<T>, undo?: () => Promise<unknown>): Promise<T> {
    try {
      const result = await run();
      this.home.commandWorked();
      this.markUp();
      return result;
    } catch (err) {
      const reason = this.home.commandFailed(err);
      this.markDown(reason);
      undo?.().catch(() => { /* nothing was taken, or the lease expires on its own */ });
      throw new TokenStoreUnavailableError(reason, `a Redis token store command failed (${reason})`, { cause: err });
    }
  }

  private async grantHoldingLock(fence: string, owner: string, previous: StoredToken | undefined, grant: GrantFunction): Promise<StoredToken> {
    let leaseLost = false;
    const lease = setInterval(() => {
      this.client.tokenExtend(this.keys.lock, owner, this.leaseMs).then((extended) => {
        if (extended === 1 || leaseLost) return;
        leaseLost = true;
        this.log.warn({ event: 'token_store_lease_lost' }, 'the token renewal lock expired before the grant finished; the fencing number keeps a newer token from being overwritten');
      }, () => { /* an outage is reported by the connection */ });
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    lease.unref();
    try {
      const token = await grant(previous?.token.refreshToken);
      return await this.store(fence, owner, token);
    } finally {
      clearInterval(lease);
      this.client.tokenRelease(this.keys.lock, owner).catch(() => { /* the lease expires on its own */ });
    }
  }

  /** Stores a token obtained under the lock; a token that cannot be stored is still returned, unshared. */
  private async store(fence: string, owner: string, token: Token): Promise<StoredToken> {
    const { blob, until, ttlMs } = encodeToken(this.opts.key, this.slot(fence), token, this.clocks);
    let stored: number;
    try {
      stored = await this.command(() => this.client.tokenWrite(this.keys.record, this.keys.lock, fence, owner, blob, until, ttlMs, this.keys.channel));
    } catch {
      this.log.warn({ event: 'token_store_write_failed' }, 'could not store the new token in Redis; using it unshared');
      return { token, generation: undefined, source: 'granted' };
    }
    if (stored === 1) return { token, generation: Number(fence), source: 'granted' };
    this.log.warn({ event: 'token_store_fenced' }, 'another replica stored a newer token meanwhile; using that one');
    const newer = await this.latest().catch(() => undefined);
    return newer ?? { token, generation: undefined, source: 'granted' };
  }

  private slot(generation: string): string {
    return `${this.keys.record}#${generation}`;
  }

  private unseal(generation: string, blob: string): StoredToken | undefined {
    return decodeToken(this.opts.key, this.slot(generation), generation, blob, this.clocks);
  }

  private undecryptable(): TokenStoreUnavailableError {
    if (!this.undecryptableLogged) {
      this.undecryptableLogged = true;
      this.log.error({ event: 'token_store_undecryptable' },
        'the shared token record in Redis does not decrypt (altered, or written with another key); renewing alone and leaving it untouched');
    }
    return new TokenStoreUnavailableError('undecryptable', 'the shared token cannot be decrypted with TOKEN_STORE_KEY');
  }

  private announce(message: string): void {
    for (const waiter of this.waiters) waiter(message);
    const generation = Number(message);
    if (!Number.isSafeInteger(generation)) return;
    for (const listener of this.listeners) listener(generation);
  }

  /** Resolves when another generation than `known` is announced, or after `ms`. */
  private waitForAnnouncement(known: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const waiter = (generation: string): void => {
        if (generation !== known) done();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(waiter);
    });
  }

  private markDown(reason: string): void {
    if (this.degraded || this.closed) return;
    this.degraded = true;
    this.log.warn({ event: 'token_store_unavailable', cause: reason },
      'the Redis token store is unavailable; this replica renews its token alone until Redis is back');
  }

  private markUp(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.log.info({ event: 'token_store_recovered' }, 'the Redis token store is back; sharing the token again');
  }
}
