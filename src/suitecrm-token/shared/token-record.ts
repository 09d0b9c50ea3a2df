/**
 * What the Redis record holds of a token, and how it turns back into one. The record is read by
 * replicas whose clocks started at other times, so times are kept on the shared wall clock and
 * converted to and from the manager's clock (on which Token.receivedAt is counted) at the edges.
 */
import type { GrantType } from '../../config/settings.js';
import type { Token } from '../grant.js';
import { scheduleFor } from '../token.js';
import type { StoredToken } from '../token-store.js';
import { open, seal } from './token-crypto.js';

/** What is sealed into the record: everything another replica needs to use the token. */
interface SealedToken {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly grant: GrantType;
  readonly issuedAt: number;
  readonly lifetimeMs: number;
  readonly expiresInReported: boolean;
}

/** Password-grant refresh tokens live a month in SuiteCRM: keep the record as long. */
const REFRESH_RECORD_TTL_MS = 31 * 24 * 3600 * 1000;

export interface RecordClocks {
  /** The manager's clock, on which Token.receivedAt is counted. */
  readonly now: () => number;
  /** Wall clock shared by replicas (epoch ms). */
  readonly wall: () => number;
}

/** The fields the write script stores for a token. */
export interface EncodedToken {
  /** The sealed token, bound to its slot. */
  readonly blob: string;
  /** Epoch ms until which the access token may be used (whole). */
  readonly until: number;
  /** How long Redis keeps the record. */
  readonly ttlMs: number;
}

/** Seals a token for the record slot `slot` (record key and generation). */
export function encodeToken(key: Buffer, slot: string, token: Token, clocks: RecordClocks): EncodedToken {
  const issuedAt = clocks.wall() - (clocks.now() - token.receivedAt);
  const sealed: SealedToken = {
    accessToken: token.accessToken, refreshToken: token.refreshToken, grant: token.grant,
    issuedAt, lifetimeMs: token.lifetimeMs, expiresInReported: token.expiresInReported,
  };
  const until = issuedAt + (scheduleFor(token, 0).usableUntil - token.receivedAt);
  const ttlMs = token.refreshToken !== undefined ? REFRESH_RECORD_TTL_MS : Math.max(1000, Math.ceil(token.lifetimeMs));
  const blob = seal(key, JSON.stringify(sealed), slot);
  return { blob, until: Math.floor(until), ttlMs };
}

/** The token another replica stored; undefined when the blob does not open for this slot and key. */
export function decodeToken(key: Buffer, slot: string, generation: string, blob: string, clocks: RecordClocks): StoredToken | undefined {
  const text = open(key, blob, slot);
  if (text === undefined) return undefined;
  const sealed = JSON.parse(text) as SealedToken;
  const token: Token = {
    accessToken: sealed.accessToken,
    refreshToken: sealed.refreshToken,
    grant: sealed.grant,
    lifetimeMs: sealed.lifetimeMs,
    expiresInReported: sealed.expiresInReported,
    // Same schedule as the replica that obtained it: count from when it was issued.
    receivedAt: clocks.now() - (clocks.wall() - sealed.issuedAt),
    authorization: `Bearer ${sealed.accessToken}`,
  };
  return { token, generation: Number(generation), source: 'adopted' };
}
