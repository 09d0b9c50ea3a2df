/**
 * RS256 access tokens as league/oauth2-server builds them with lcobucci/jwt:
 * L8 (jwt 4.x) writes float dates with microseconds, L5 (jwt 3.x) integers and
 * repeats `jti` in the header. Parse errors carry lcobucci's messages, which
 * SuiteCRM returns as the 401 hint.
 */
import { createSign, createVerify, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import type { Dialect } from './types.js';

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A fresh 2048-bit pair, like `api:generate-keys`. */
export function generateSigningKeys(): Promise<SigningKeys> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    });
  });
}

/** 40 random bytes as 80 hex characters: the token row id and JWT `jti`. */
export function newTokenId(): string {
  return randomBytes(40).toString('hex');
}

export interface AccessTokenClaims {
  clientId: string;
  jti: string;
  issuedAtMs: number;
  ttlSeconds: number;
  /** User id, or '' for client_credentials (`(string) null`). */
  subject: string;
}

export function signAccessToken(keys: SigningKeys, claims: AccessTokenClaims, dialect: Dialect): string {
  const header = dialect === 'L8' ? { typ: 'JWT', alg: 'RS256' } : { typ: 'JWT', alg: 'RS256', jti: claims.jti };
  // Microseconds: the millisecond clock with a random sub-millisecond part taken off, never added:
  // a token checked within the millisecond it was issued in must not look issued in the future.
  const issuedUs = claims.issuedAtMs * 1000 - Math.floor(Math.random() * 1000);
  const expiresUs = issuedUs + claims.ttlSeconds * 1_000_000;
  const date = (us: number): string => (dialect === 'L8' ? formatMicros(us) : String(Math.floor(us / 1_000_000)));
  // Hand-built to keep the claim order and the float formatting of jwt 4.x.
  const payload =
    `{"aud":${JSON.stringify(claims.clientId)},"jti":${JSON.stringify(claims.jti)},` +
    `"iat":${date(issuedUs)},"nbf":${date(issuedUs)},"exp":${date(expiresUs)},` +
    `"sub":${JSON.stringify(claims.subject)},"scopes":[]}`;
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(payload)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(keys.privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function formatMicros(us: number): string {
  const seconds = Math.floor(us / 1_000_000);
  const fraction = String(us % 1_000_000).padStart(6, '0');
  return `${seconds}.${fraction}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

export class JwtParseError extends Error {
  constructor(
    message: string,
    readonly kind: 'structure' | 'decoding',
  ) {
    super(message);
    this.name = 'JwtParseError';
  }
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** lcobucci/jwt 4 `Parser::parse`, with its exception messages. */
export function decodeJwt(jwt: string): DecodedJwt {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new JwtParseError('The JWT string must have two dots', 'structure');
  const [headerPart = '', claimsPart = '', signaturePart = ''] = parts;
  const header = decodeJsonPart(headerPart, 'headers');
  const claims = decodeJsonPart(claimsPart, 'claims');
  const signature = Buffer.from(base64urlDecode(signaturePart), 'latin1');
  return { header, claims, signingInput: `${headerPart}.${claimsPart}`, signature };
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  const text = Buffer.from(base64urlDecode(part), 'latin1').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JwtParseError('Error while decoding from JSON', 'decoding');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtParseError(`${what} must be an array`, 'structure');
  }
  return value as Record<string, unknown>;
}

/** PHP `base64_decode(strtr($data, '-_', '+/'), true)` after padding; returns latin1 text. */
function base64urlDecode(data: string): string {
  const padded = data.length % 4 === 0 ? data : data + '='.repeat(4 - (data.length % 4));
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(padded) || data.replace(/=+$/, '').length % 4 === 1) {
    throw new JwtParseError('Error while decoding from Base64Url, invalid base64 characters detected', 'decoding');
  }
  return Buffer.from(padded.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
}

/** The `SignedWith` constraint: alg must be RS256 and the signature must verify. */
export function hasValidSignature(keys: SigningKeys, jwt: DecodedJwt): boolean {
  if (jwt.header['alg'] !== 'RS256') return false;
  return createVerify('RSA-SHA256').update(jwt.signingInput).verify(keys.publicKey, jwt.signature);
}

/** A date claim (float or integer seconds) in milliseconds, or undefined when absent/not a number. */
export function dateClaimMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value) * 1000;
  return undefined;
}

/** The string claims a request record keeps: `jti`, `aud` (client id) and `sub` (user id, '' for client_credentials). */
export interface PeekedClaims {
  jti?: string;
  aud?: string;
  sub?: string;
}

/** Read `jti`, `aud` and `sub` without verifying anything (for request records); {} when not a JWT. */
export function peekClaims(authorization: string | undefined): PeekedClaims {
  if (authorization === undefined) return {};
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(stripBearer(authorization)).claims;
  } catch {
    return {};
  }
  const peeked: PeekedClaims = {};
  for (const name of ['jti', 'aud', 'sub'] as const) {
    const value = claims[name];
    if (typeof value === 'string') peeked[name] = value;
  }
  return peeked;
}

/** L8 `BearerTokenValidator`: strip a case-sensitive `Bearer ` prefix, then trim. */
export function stripBearer(authorization: string): string {
  return authorization.replace(/^\s*Bearer\s/, '').trim();
}
