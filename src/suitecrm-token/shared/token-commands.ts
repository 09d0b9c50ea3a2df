/**
 * The token store's atomic Redis commands (redis-scripts.ts), typed for ioredis and defined on a
 * command connection.
 */
import type { Redis, Result } from 'ioredis';
import { CLAIM_SCRIPT, EXTEND_SCRIPT, INVALIDATE_SCRIPT, RELEASE_SCRIPT, WRITE_SCRIPT } from './redis-scripts.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tokenClaim(record: string, lock: string, fence: string, known: string, owner: string, leaseMs: number, minUntil: number): Result<(string | number | null)[], Context>;
    tokenWrite(record: string, lock: string, fence: string, owner: string, blob: string, until: number, ttlMs: number, channel: string): Result<number, Context>;
    tokenExtend(lock: string, owner: string, leaseMs: number): Result<number, Context>;
    tokenRelease(lock: string, owner: string): Result<number, Context>;
    tokenInvalidate(record: string, generation: string): Result<number, Context>;
  }
}

/** Defines the token commands on `client` (idempotent: ioredis replaces a definition). */
export function defineTokenCommands(client: Redis): void {
  client.defineCommand('tokenClaim', { numberOfKeys: 3, lua: CLAIM_SCRIPT });
  client.defineCommand('tokenWrite', { numberOfKeys: 2, lua: WRITE_SCRIPT });
  client.defineCommand('tokenExtend', { numberOfKeys: 1, lua: EXTEND_SCRIPT });
  client.defineCommand('tokenRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  client.defineCommand('tokenInvalidate', { numberOfKeys: 1, lua: INVALIDATE_SCRIPT });
}
