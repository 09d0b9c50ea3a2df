/**
 * The fingerprint of TOKEN_STORE_KEY that every Redis key of a fleet carries, so replicas with
 * another key form their own group instead of overwriting records they cannot read (the token
 * store and the local sessions both use it). Logged as `keyId`: it does not reveal the key.
 */
import { createHmac } from 'node:crypto';

export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('suitecrm-auth-proxy token store key id').digest('hex').slice(0, 16);
}
