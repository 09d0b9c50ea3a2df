/** TOKEN_STORE_KEY: the 256-bit key of the shared token store's encryption (suitecrm-token/shared/token-crypto.ts). */
const KEY_BYTES = 32;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=?$|^[A-Za-z0-9_-]{43}=?$/;

/** TOKEN_STORE_KEY as written by `openssl rand -hex 32` or `openssl rand -base64 32`; undefined if it is neither. */
export function decodeStoreKey(text: string): Buffer | undefined {
  const value = text.trim();
  let key: Buffer | undefined;
  if (HEX_KEY.test(value)) key = Buffer.from(value, 'hex');
  else if (BASE64_KEY.test(value)) key = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  return key?.length === KEY_BYTES ? key : undefined;
}
