/** The local sessions' atomic Redis commands (redis-scripts.ts), typed for ioredis and defined on a command connection. */
import type { Redis, Result } from 'ioredis';
import { ADD_SCRIPT, COUNTS_SCRIPT, END_SCRIPT, EPOCH_SCRIPT, FIND_SCRIPT, REFRESH_SCRIPT } from './redis-scripts.js';

/** A session's 8 fields as the scripts take them (redis-scripts.ts). */
export type SessionFields = [string, string, string, string, string, string, string, string];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sessionAdd(base: string, now: number, maxPer: number, maxTotal: number, channel: string, onlyIfAbsent: string, ...fields: SessionFields): Result<string[], Context>;
    sessionFind(base: string, now: number, accessDigest: string): Result<string[] | null, Context>;
    sessionRefresh(base: string, now: number, maxPer: number, maxTotal: number, channel: string, refreshDigest: string, caller: string, spend: string, ...fields: SessionFields | []): Result<string[], Context>;
    sessionEnd(base: string, now: number, channel: string, accessDigest: string, forgetAt: number): Result<number, Context>;
    sessionCounts(base: string, now: number): Result<Array<string | number>, Context>;
    sessionEpoch(base: string, now: number, candidate: string): Result<string, Context>;
  }
}

/** Defines the session commands on `client` (idempotent: ioredis replaces a definition). */
export function defineSessionCommands(client: Redis): void {
  client.defineCommand('sessionAdd', { numberOfKeys: 1, lua: ADD_SCRIPT });
  client.defineCommand('sessionFind', { numberOfKeys: 1, lua: FIND_SCRIPT });
  client.defineCommand('sessionRefresh', { numberOfKeys: 1, lua: REFRESH_SCRIPT });
  client.defineCommand('sessionEnd', { numberOfKeys: 1, lua: END_SCRIPT });
  client.defineCommand('sessionCounts', { numberOfKeys: 1, lua: COUNTS_SCRIPT });
  client.defineCommand('sessionEpoch', { numberOfKeys: 1, lua: EPOCH_SCRIPT });
}
