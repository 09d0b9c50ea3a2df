/**
 * One process's connections to the Redis that a fleet of replicas shares (TOKEN_STORE=redis):
 * one command connection and one subscriber, whatever uses them (each credential's token store,
 * local sessions, rate limits and throttles). It knows whether Redis can be used right now and
 * says so once per outage and once per recovery; the features ask `usable()` and fall back to
 * their own process state meanwhile, and hear `up`/`down` to share again.
 *
 * Redis trouble never blocks a request for long: no offline queue, short command timeouts,
 * reconnecting in the background (redis-connection.ts).
 */
import { EventEmitter, once } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { describeTarget, errorReason, redisConnections } from './redis-connection.js';

export interface RedisHomeOptions {
  /** redis:// or rediss:// URL (may hold a password: never logged). */
  readonly url: string;
  readonly commandTimeoutMs: number;
  readonly logger: Logger;
}

export interface RedisHomeStatus {
  readonly connected: boolean;
  /** Why Redis cannot be used, while it cannot (a short code, never a URL). */
  readonly reason: string | undefined;
  /** Epoch ms of the last change between usable and unusable; undefined before the first. */
  readonly since: number | undefined;
}

type MessageListener = (message: string) => void;

export class RedisHome extends EventEmitter<{ up: []; down: [reason: string] }> {
  readonly client: Redis;
  readonly subscriber: Redis;
  /** host:port, for logs. */
  readonly target: string;
  private readonly log: Logger;
  private readonly channels = new Map<string, Set<MessageListener>>();
  private everReady = false;
  private down: string | undefined;
  private since: number | undefined;
  private closed = false;
  private firstConnection: Promise<boolean> | undefined;

  constructor(private readonly opts: RedisHomeOptions) {
    super();
    this.target = describeTarget(opts.url);
    this.log = opts.logger.child({ component: 'shared-state', store: 'redis', redis: this.target });
    const connections = redisConnections(opts.url, opts.commandTimeoutMs);
    this.client = connections.client;
    this.subscriber = connections.subscriber;
    this.client.on('ready', () => {
      this.everReady = true;
      this.markUp();
    });
    this.client.on('error', (err: unknown) => this.markDown(errorReason(err)));
    this.client.on('close', () => { if (this.everReady && !this.closed) this.markDown('connection_closed'); });
    this.subscriber.on('error', () => { /* the command connection reports outages */ });
    // autoResubscribe is off (redis-connection.ts): every channel is subscribed again on each connect.
    this.subscriber.on('ready', () => {
      const names = [...this.channels.keys()];
      if (names.length > 0) this.subscriber.subscribe(...names).catch(() => { /* the features poll as a safety net */ });
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.channels.get(channel) ?? []) listener(message);
    });
    this.client.connect().catch(() => { /* reported through 'error'; reconnects on its own */ });
    this.subscriber.connect().catch(() => { /* reported by the command connection */ });
  }

  /** True while commands can be sent. */
  usable(): boolean {
    return this.down === undefined && this.client.status === 'ready';
  }

  status(): RedisHomeStatus {
    return { connected: this.usable(), reason: this.usable() ? undefined : (this.down ?? this.client.status), since: this.since };
  }

  /**
   * Waits for the first connection, bounded by twice the command timeout (at least 1 s); afterwards
   * answers at once. True when Redis can be used.
   */
  async ready(): Promise<boolean> {
    if (this.usable()) return true;
    const status = this.client.status;
    // Only the first connection is waited for, and only until it failed once: a Redis that is down at
    // start-up costs each request nothing more than one that went down later.
    if (this.everReady || this.closed || this.down !== undefined || !(status === 'wait' || status === 'connecting' || status === 'connect')) return false;
    // One wait for everyone: a burst of first requests (each taking from a rate limit) adds one listener, not one each.
    this.firstConnection ??= this.waitForFirstConnection().finally(() => { this.firstConnection = undefined; });
    return this.firstConnection;
  }

  private async waitForFirstConnection(): Promise<boolean> {
    try {
      await once(this.client, 'ready', { signal: AbortSignal.timeout(Math.max(1000, 2 * this.opts.commandTimeoutMs)) });
      return true;
    } catch (err) {
      this.markDown(errorReason(err));
      return false;
    }
  }

  /** Hears every message published on `channel`; returns the function that stops listening. */
  subscribe(channel: string, listener: MessageListener): () => void {
    let listeners = this.channels.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.channels.set(channel, listeners);
      if (this.subscriber.status === 'ready') this.subscriber.subscribe(channel).catch(() => { /* resubscribed on the next connect */ });
    }
    listeners.add(listener);
    return () => {
      const current = this.channels.get(channel);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size > 0) return;
      this.channels.delete(channel);
      if (this.subscriber.status === 'ready') this.subscriber.unsubscribe(channel).catch(() => undefined);
    };
  }

  /**
   * A failed command: the connection is treated as down until ioredis reports it ready again
   * (a timed-out command leaves the socket up but Redis unresponsive).
   */
  commandFailed(err: unknown): string {
    const reason = errorReason(err);
    this.markDown(reason);
    return reason;
  }

  /** A command that worked: Redis answers again. */
  commandWorked(): void {
    if (this.client.status === 'ready') this.markUp();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.client, this.subscriber].map(async (connection) => {
      if (connection.status === 'ready') {
        await Promise.race([connection.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      }
      connection.disconnect();
    }));
  }

  private markDown(reason: string): void {
    if (this.down !== undefined || this.closed) return;
    this.down = reason;
    this.since = Date.now();
    this.log.warn({ event: 'shared_state_unavailable', cause: reason },
      'Redis is unavailable; this replica keeps its own sessions, limits and token until it is back');
    this.emit('down', reason);
  }

  private markUp(): void {
    if (this.down === undefined) {
      this.since ??= Date.now();
      return;
    }
    this.down = undefined;
    this.since = Date.now();
    this.log.info({ event: 'shared_state_recovered' }, 'Redis is back; sharing sessions, limits and the token again');
    this.emit('up');
  }
}
