/**
 * A PROXY_WORKERS worker's view of the token: a local copy of the primary's token, so the hot
 * path stays synchronous, refreshed by pushes from the primary. The worker asks the primary only
 * on a miss, when the token reaches its refresh time, and on a 401; the primary's TokenManager
 * single-flights all of that for the whole process group, so N workers cause one token request.
 */
import { ProxyError } from '../errors.js';
import type { Token } from '../suitecrm-token/grant.js';
import type { CachedToken, RenewReason, TokenFailure, TokenStatus } from '../suitecrm-token/token.js';
import type { TokenSource } from '../suitecrm-token/token.js';
import { CHANNEL, isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

export interface IpcChannel {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

interface Waiter {
  resolve(token: CachedToken): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class ClusterTokenClient implements TokenSource {
  private token: CachedToken | undefined;
  private pending: Promise<CachedToken> | undefined;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  /** The token for which the primary was already told that its refresh time has come. */
  private refreshAnnounced: string | undefined;
  private reauthBlockedUntil = 0;
  /** The access token this worker last told the primary had worked. */
  private proven: string | undefined;
  private failure: TokenFailure | undefined;

  constructor(
    private readonly channel: IpcChannel,
    /** Longest wait for the primary's answer (it may be running a token request). */
    private readonly answerTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    channel.onMessage((message) => {
      if (isMessage<PrimaryMessage>(message)) this.receive(message);
    });
  }

  current(): CachedToken | undefined {
    const token = this.token;
    if (token === undefined) return undefined;
    const now = this.now();
    if (now >= token.usableUntil) {
      this.token = undefined;
      return undefined;
    }
    if (now >= token.refreshAt && this.refreshAnnounced !== token.accessToken) {
      this.refreshAnnounced = token.accessToken;
      this.channel.send({ channel: CHANNEL, type: 'refresh-due' });
    }
    return token;
  }

  get(reason: RenewReason = 'cold'): Promise<CachedToken> {
    const token = this.current();
    if (token !== undefined) return Promise.resolve(token);
    // One question to the primary at a time per worker; every caller shares its answer.
    this.pending ??= this.ask(reason).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  rejected(token: Token): boolean {
    if (this.now() < this.reauthBlockedUntil) return false;
    // Only the first 401 for our current copy is reported; the primary drops it only if it
    // still holds that token, so a 401 for an old token never discards a newer one.
    if (this.token !== undefined && this.token.accessToken === token.accessToken) {
      this.channel.send({ channel: CHANNEL, type: 'rejected', token: this.token });
      this.token = undefined;
    }
    return true;
  }

  replayRejected(token: Token): void {
    this.channel.send({ channel: CHANNEL, type: 'replay-rejected', token: token as CachedToken });
  }

  /** The primary hears of each token's first success here (it is proven) and of the end of a 401 loop guard pause. */
  accepted(token: Token): void {
    if (token.accessToken === this.proven && this.reauthBlockedUntil === 0) return;
    this.proven = token.accessToken;
    this.reauthBlockedUntil = 0;
    this.channel.send({ channel: CHANNEL, type: 'accepted', token: token as CachedToken });
  }

  status(): TokenStatus {
    const token = this.current();
    return {
      hasToken: token !== undefined,
      expiresInMs: token ? token.receivedAt + token.lifetimeMs - this.now() : undefined,
      grant: token?.grant,
      renewing: this.pending !== undefined,
      lastFailure: this.failure,
      nextAttemptInMs: 0,
      // The primary owns the token (and any shared store); a worker only sees what it is handed.
      tokenStore: 'primary',
      tokenStoreShared: true,
      tokenStoreFallbacks: 0,
    };
  }

  private ask(reason: RenewReason): Promise<CachedToken> {
    const id = this.nextId++;
    return new Promise<CachedToken>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new ProxyError('TOKEN_UNAVAILABLE', 'the token is being obtained by the primary process and took too long; try again shortly', { retryAfterSeconds: 1 }));
      }, this.answerTimeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      this.channel.send({ channel: CHANNEL, type: 'get', id, reason });
    });
  }

  private receive(message: PrimaryMessage): void {
    if (message.type === 'reauth-blocked') {
      this.reauthBlockedUntil = message.until;
      return;
    }
    const waiter = this.waiters.get(message.id);
    if (waiter) {
      this.waiters.delete(message.id);
      clearTimeout(waiter.timer);
    }
    if (message.type === 'token') {
      this.token = message.token;
      this.failure = undefined;
      waiter?.resolve(message.token);
    } else {
      this.failure = message.failure;
      waiter?.reject(new ProxyError(message.code, message.detail, { retryAfterSeconds: message.retryAfterSeconds }));
    }
  }
}
