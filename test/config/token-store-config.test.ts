import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { open, seal } from '../../src/suitecrm-token/shared/token-crypto.js';
import { decodeStoreKey } from '../../src/config/store-key.js';
import { configError as loadError } from '../support/config-error.js';

const base = { SUITECRM_URL: 'https://crm.example.com/', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'very-secret-value' };
const HEX_KEY = 'a1'.repeat(32);
const REDIS = { ...base, TOKEN_STORE: 'redis', REDIS_URL: 'redis://:redis-pass-Zz9@127.0.0.1:6379/2', TOKEN_STORE_KEY: HEX_KEY };

const configError = (env: Record<string, string>, files: Record<string, string> = {}): ConfigError => loadError(env, files, ['redis-pass-Zz9', HEX_KEY, 'not-a-key-Qq7']);

test('TOKEN_STORE defaults to memory and needs nothing else', () => {
  const c = loadConfig(base);
  assert.equal(c.tokenStore, 'memory');
  assert.equal(c.redisUrl, undefined);
  assert.equal(c.tokenStoreKey, undefined);
  assert.equal(c.tokenStorePrefix, 'suitecrm-auth-proxy');
  assert.equal(c.redisCommandTimeoutMs, 1000);
});

test('TOKEN_STORE=redis with a hex key, a base64 key, or a key file', () => {
  const hex = loadConfig(REDIS);
  assert.equal(hex.tokenStore, 'redis');
  assert.equal(hex.redisUrl, REDIS.REDIS_URL);
  assert.deepEqual(hex.tokenStoreKey, Buffer.from(HEX_KEY, 'hex'));
  const key = randomBytes(32);
  assert.deepEqual(loadConfig({ ...REDIS, TOKEN_STORE_KEY: key.toString('base64') }).tokenStoreKey, key);
  assert.deepEqual(loadConfig({ ...REDIS, TOKEN_STORE_KEY: key.toString('base64url') }).tokenStoreKey, key);
  const { TOKEN_STORE_KEY: _unused, ...withoutKey } = REDIS;
  const fromFile = loadConfig({ ...withoutKey, TOKEN_STORE_KEY_FILE: '/run/secrets/key' }, () => `${key.toString('base64')}\n`);
  assert.deepEqual(fromFile.tokenStoreKey, key);
  assert.equal(loadConfig({ ...REDIS, REDIS_URL: 'rediss://redis.internal:6380' }).redisUrl, 'rediss://redis.internal:6380');
});

test('TOKEN_STORE=redis requires REDIS_URL and TOKEN_STORE_KEY', () => {
  const { REDIS_URL: _u, ...noUrl } = REDIS;
  assert.equal(configError(noUrl).setting, 'REDIS_URL');
  const { TOKEN_STORE_KEY: _k, ...noKey } = REDIS;
  const err = configError(noKey);
  assert.equal(err.setting, 'TOKEN_STORE_KEY');
  assert.match(err.message, /openssl rand/);
});

test('a malformed REDIS_URL is named without echoing it', () => {
  for (const url of ['http://:redis-pass-Zz9@host', 'redis-pass-Zz9', 'redis://']) {
    assert.equal(configError({ ...REDIS, REDIS_URL: url }).setting, 'REDIS_URL', url);
  }
});

test('TOKEN_STORE_KEY must be exactly 32 bytes as hex or base64', () => {
  for (const bad of ['not-a-key-Qq7', 'a1'.repeat(31), 'a1'.repeat(33), randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), 'zz'.repeat(32)]) {
    const err = configError({ ...REDIS, TOKEN_STORE_KEY: bad });
    assert.equal(err.setting, 'TOKEN_STORE_KEY');
    assert.match(err.message, /32 random bytes/);
  }
});

test('TOKEN_STORE accepts only memory or redis; the prefix may not hold braces', () => {
  assert.equal(configError({ ...base, TOKEN_STORE: 'memcached' }).setting, 'TOKEN_STORE');
  assert.equal(configError({ ...REDIS, TOKEN_STORE_PREFIX: 'a{b}' }).setting, 'TOKEN_STORE_PREFIX');
});

test('sealed values open only with the same key and slot', () => {
  const key = decodeStoreKey(HEX_KEY)!;
  const sealed = seal(key, 'secret token', 'slot#1');
  assert.ok(!sealed.includes('secret'));
  assert.notEqual(seal(key, 'secret token', 'slot#1'), sealed, 'a fresh nonce per write');
  assert.equal(open(key, sealed, 'slot#1'), 'secret token');
  assert.equal(open(key, sealed, 'slot#2'), undefined, 'bound to its slot');
  assert.equal(open(randomBytes(32), sealed, 'slot#1'), undefined, 'another key cannot open it');
  const parts = sealed.split('.');
  const tampered = [parts[0], parts[1], Buffer.from('x' + (parts[2] ?? '')).toString('base64url'), parts[3]].join('.');
  assert.equal(open(key, tampered, 'slot#1'), undefined, 'tampering is detected');
  assert.equal(open(key, 'garbage', 'slot#1'), undefined);
});
