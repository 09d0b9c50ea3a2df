/**
 * Where state that several processes must share lives, decided once per process from the
 * configuration, and handed to every feature that shares state (each credential's token store,
 * local sessions, rate limits and login throttles) so none of them builds its own plumbing:
 *
 * - `process`: one proxy process; the state is this process's own memory.
 * - `primary`: a PROXY_WORKERS worker; the state lives in the primary, asked over IPC (primary-link.ts).
 *   (The primary itself keeps the group's state in its memory: kind `process`, serving its workers.)
 * - `redis`: TOKEN_STORE=redis; the state lives in Redis, shared by every replica (redis-home.ts).
 *   While Redis cannot be used, each replica falls back to its own memory (`status().shared` false)
 *   and shares again when it is back.
 *
 * A feature picks its implementation with `homeFor(home, { process, primary, redis })`.
 */
import type { Logger } from 'pino';
import type { PrimaryLink } from './primary-link.js';
import type { RedisHome, RedisHomeStatus } from './redis-home.js';

export type StateHomeKind = 'process' | 'primary' | 'redis';

export interface StateHomeStatus {
  readonly kind: StateHomeKind;
  /** False while the home cannot be used and this process keeps its own state (Redis down). */
  readonly shared: boolean;
  /** Why not, while not shared. */
  readonly reason?: string;
  /** Epoch ms of the last change, for readiness `meta`. */
  readonly since?: number;
}

export type StateHome =
  | { readonly kind: 'process' }
  | { readonly kind: 'primary'; readonly primary: PrimaryLink }
  | { readonly kind: 'redis'; readonly redis: RedisHome };

export const PROCESS_HOME: StateHome = { kind: 'process' };

export function homeStatus(home: StateHome): StateHomeStatus {
  if (home.kind !== 'redis') return { kind: home.kind, shared: true };
  const status: RedisHomeStatus = home.redis.status();
  return { kind: 'redis', shared: status.connected, reason: status.reason, since: status.since };
}

/** The implementation of a shared feature for this process's home. */
export function homeFor<T>(home: StateHome, build: {
  process: () => T;
  primary: (link: PrimaryLink) => T;
  redis: (redis: RedisHome) => T;
}): T {
  switch (home.kind) {
    case 'process': return build.process();
    case 'primary': return build.primary(home.primary);
    case 'redis': return build.redis(home.redis);
  }
}

export interface RedisHomeSettings {
  readonly tokenStore: string;
  readonly redisUrl: string | undefined;
  readonly redisCommandTimeoutMs: number;
}

/**
 * The Redis home when TOKEN_STORE=redis, else undefined. Loaded on demand: a proxy without Redis
 * never loads ioredis.
 */
export async function redisHomeFor(config: RedisHomeSettings, logger: Logger): Promise<StateHome | undefined> {
  if (config.tokenStore !== 'redis' || config.redisUrl === undefined) return undefined;
  const { RedisHome } = await import('./redis-home.js');
  return { kind: 'redis', redis: new RedisHome({ url: config.redisUrl, commandTimeoutMs: config.redisCommandTimeoutMs, logger }) };
}

/** Closes what the home holds open (the Redis connections). */
export async function closeHome(home: StateHome): Promise<void> {
  if (home.kind === 'redis') await home.redis.close();
}
