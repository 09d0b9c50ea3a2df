/**
 * Refresh tokens are encrypted payloads (defuse/php-encryption in SuiteCRM, keyed
 * by `oauth2_encryption_key`), which is why they are hex strings starting with
 * `def50200`. Here: AES-256-GCM under a per-server key, same outward shape.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface RefreshPayload {
  client_id: string;
  refresh_token_id: string;
  access_token_id: string;
  scopes: string[];
  user_id: string;
  /** Unix seconds. */
  expire_time: number;
}

const MAGIC = 'def50200';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class RefreshTokenCodec {
  readonly #key = randomBytes(32);

  encode(payload: RefreshPayload): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return MAGIC + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('hex');
  }

  /** Throws on anything that is not a token this server issued. */
  decode(token: string): RefreshPayload {
    if (!token.startsWith(MAGIC) || !/^[0-9a-f]*$/.test(token) || token.length % 2 !== 0) {
      throw new Error('not a refresh token');
    }
    const raw = Buffer.from(token.slice(MAGIC.length), 'hex');
    if (raw.length <= IV_BYTES + TAG_BYTES) throw new Error('refresh token too short');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as RefreshPayload;
  }
}
