/**
 * What a local token is stored as: its digest. With TOKEN_STORE_KEY (the sessions are in Redis) an
 * HMAC keyed from it, so a digest read from Redis cannot even be matched to a token without the
 * key; without it a SHA-256, since the digests never leave the host (this process, or the
 * PROXY_WORKERS primary). Every process sharing the sessions must compute the same digest: they
 * share TOKEN_STORE_KEY.
 */
import { createHash, createHmac } from 'node:crypto';

export type TokenDigest = (token: string) => string;

export function tokenDigest(storeKey: Buffer | undefined): TokenDigest {
  if (storeKey === undefined) return (token) => createHash('sha256').update(token, 'utf8').digest('base64url');
  // A key of its own, derived from TOKEN_STORE_KEY, so the digests never reuse the encryption key.
  const key = createHmac('sha256', storeKey).update('suitecrm-auth-proxy local session digests').digest();
  return (token) => createHmac('sha256', key).update(token, 'utf8').digest('base64url');
}
