/**
 * PROXY_CLIENTS parsing and the security settings: keys held as digests, strict field checks,
 * errors that name the caller and field but never a key, and the safe-by-default listener rule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { parseClients, sha256 } from '../../src/config/callers.js';
import { CallerRegistry, presentedKey } from '../../src/security/caller-registry.js';
import { isLoopbackHost } from '../../src/config/security-settings.js';

const KEY_A = 'key-A-0123456789abcdef-SECRET';
const KEY_B = 'key-B-0123456789abcdef-SECRET';
const base = { SUITECRM_URL: 'https://crm.example.com', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'sec' };
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' });
};

function configError(env: Record<string, string>, files: Record<string, string> = {}): ConfigError {
  try {
    loadConfig({ ...base, ...env }, (path) => files[path] ?? noFiles(path));
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    for (const secret of [KEY_A, KEY_B]) assert.ok(!err.message.includes(secret), `message leaks a key: ${err.message}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('callers as an array or an object keyed by name, keys held only as SHA-256 digests', () => {
  const fromArray = parseClients(JSON.stringify([{ name: 'a', key: KEY_A }, { name: 'b', keySha256: sha256(KEY_B).toString('hex') }]), noFiles);
  const fromObject = parseClients(JSON.stringify({ a: { key: KEY_A }, b: { key: KEY_B } }), noFiles);
  for (const callers of [fromArray, fromObject]) {
    assert.deepEqual(callers.map((c) => c.name), ['a', 'b']);
    assert.deepEqual(callers[1]?.keyDigest, sha256(KEY_B));
    assert.ok(!JSON.stringify(callers).includes(KEY_A));
  }
});

test('keyFile is read (one trailing newline dropped) and its read error names the caller, not the key', () => {
  const callers = parseClients(JSON.stringify([{ name: 'a', keyFile: '/run/secrets/a' }]), (p) => (p === '/run/secrets/a' ? `${KEY_A}\n` : noFiles(p)));
  assert.deepEqual(callers[0]?.keyDigest, sha256(KEY_A));
  const err = configError({ PROXY_CLIENTS: JSON.stringify([{ name: 'a', key_file: '/nope' }]) });
  assert.equal(err.setting, 'PROXY_CLIENTS');
  assert.match(err.message, /caller "a"\.keyFile: cannot read \/nope \(ENOENT\)/);
});

test('rules, rate limits and body limits are parsed; a burst defaults to the rate rounded up', () => {
  const [c] = parseClients(JSON.stringify([{ name: 'reporting', key: KEY_A, methods: ['get'], paths: ['/Api/V8/module/Accounts*'], rateLimit: { perSecond: 2.5 }, bodyLimitBytes: 1000 }]), noFiles);
  assert.deepEqual(c?.allow, [{ methods: ['GET'], paths: ['/Api/V8/module/Accounts*'] }]);
  assert.deepEqual(c?.rateLimit, { perSecond: 2.5, burst: 3 });
  assert.equal(c?.bodyLimitBytes, 1000);
  const [d] = parseClients(JSON.stringify([{ name: 'd', key: KEY_A, allow: [{ methods: ['GET'] }, { methods: ['POST'], paths: ['/Api/V8/module'] }] }]), noFiles);
  assert.equal(d?.allow?.length, 2);
});

test('bad PROXY_CLIENTS values are refused by name, without echoing keys', () => {
  const cases: [unknown, RegExp][] = [
    [[{ name: 'a', key: 'short' }], /caller "a": the key must be at least 16 characters/],
    [[{ name: 'a', key: KEY_A, keyFile: '/x' }], /exactly one of key, keyFile or keySha256/],
    [[{ name: 'a' }], /exactly one of key, keyFile or keySha256/],
    [[{ name: 'a', keySha256: 'abc' }], /keySha256 must be 64 hex digits/],
    [[{ name: 'a', key: KEY_A }, { name: 'a', key: KEY_B }], /caller "a" is defined twice/],
    [[{ name: 'a', key: KEY_A }, { name: 'b', key: KEY_A }], /caller "b" has the same key as another caller/],
    [[{ name: 'a b', key: KEY_A }], /name must be 1-64 characters/],
    [[{ name: 'anonymous', key: KEY_A }], /reserved/],
    [[{ name: 'a', key: KEY_A, method: ['GET'] }], /unknown field "method"/],
    [[{ name: 'a', key: KEY_A, methods: [] }], /methods must be a non-empty array/],
    [[{ name: 'a', key: KEY_A, methods: ['GET /x'] }], /is not an HTTP method/],
    [[{ name: 'a', key: KEY_A, paths: ['Api/*'] }], /must start with \//],
    [[{ name: 'a', key: KEY_A, rateLimit: { perSecond: 0 } }], /rateLimit\.perSecond must be a positive number/],
    [[{ name: 'a', key: KEY_A, rateLimit: { perSecond: 1, burst: 1.5 } }], /burst must be a positive whole number/],
    [[{ name: 'a', key: KEY_A, bodyLimitBytes: -1 }], /bodyLimitBytes must be a positive whole number/],
    [[{ name: 'a', key: KEY_A, allow: [{ methods: ['GET'] }], methods: ['GET'] }], /either allow or methods\/paths/],
    [[], /non-empty JSON array/],
    ['just a string', /non-empty JSON array/],
  ];
  for (const [value, expected] of cases) {
    const err = configError({ PROXY_CLIENTS: JSON.stringify(value) });
    assert.equal(err.setting, 'PROXY_CLIENTS');
    assert.match(err.message, expected);
  }
});

test('invalid JSON is reported by position only: the text may hold keys', () => {
  const err = configError({ PROXY_CLIENTS: `[{"name":"a","key":"${KEY_A}"` });
  assert.match(err.message, /^PROXY_CLIENTS: is not valid JSON/);
});

test('PROXY_CLIENTS_FILE holds the same JSON', () => {
  const c = loadConfig({ ...base, PROXY_CLIENTS_FILE: '/etc/proxy/clients.json' }, (p) => (p === '/etc/proxy/clients.json' ? JSON.stringify([{ name: 'a', key: KEY_A }]) : noFiles(p)));
  assert.equal(c.security.clients?.[0]?.name, 'a');
});

test('the registry finds the caller of a key and nobody for a wrong one', () => {
  const registry = new CallerRegistry(parseClients(JSON.stringify({ a: { key: KEY_A }, b: { key: KEY_B } }), noFiles));
  assert.equal(registry.identify(KEY_B)?.name, 'b');
  assert.equal(registry.identify(KEY_A)?.name, 'a');
  assert.equal(registry.identify(`${KEY_A}x`), undefined);
  assert.equal(registry.identify(''), undefined);
});

test('a key is taken from X-Proxy-Key first, else from Authorization: Bearer (any case)', () => {
  assert.equal(presentedKey({ 'x-proxy-key': KEY_A, authorization: `Bearer ${KEY_B}` }), KEY_A);
  assert.equal(presentedKey({ authorization: `bearer ${KEY_B}` }), KEY_B);
  assert.equal(presentedKey({ authorization: `Basic ${KEY_B}` }), undefined);
  assert.equal(presentedKey({}), undefined);
});

test('security defaults are safe', () => {
  const s = loadConfig(base).security;
  assert.equal(s.clients, undefined);
  assert.equal(s.allowUnauthenticated, false);
  assert.equal(s.readOnly, false);
  assert.deepEqual(s.allowedPathPrefixes, ['/Api/', '/legacy/Api/']);
  assert.equal(s.forwardTokenEndpoint, false);
  assert.equal(s.defaultRateLimit, undefined);
  assert.equal(s.bodyLimitBytes, 104_857_600);
});

test('a non-loopback listener needs PROXY_CLIENTS or an explicit PROXY_ALLOW_UNAUTHENTICATED=true', () => {
  for (const host of ['0.0.0.0', '::', '10.1.2.3', 'proxy.internal']) {
    const err = configError({ PROXY_HOST: host });
    assert.equal(err.setting, 'PROXY_CLIENTS');
    assert.match(err.message, /PROXY_ALLOW_UNAUTHENTICATED=true/);
  }
  assert.equal(loadConfig({ ...base, PROXY_HOST: '0.0.0.0', PROXY_ALLOW_UNAUTHENTICATED: 'true' }).security.allowUnauthenticated, true);
  assert.equal(loadConfig({ ...base, PROXY_HOST: '0.0.0.0', PROXY_CLIENTS: JSON.stringify({ a: { key: KEY_A } }) }).security.clients?.length, 1);
  for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
    assert.ok(isLoopbackHost(host), host);
    assert.doesNotThrow(() => loadConfig({ ...base, PROXY_HOST: host }));
  }
});

test('other security settings are validated by name', () => {
  assert.equal(configError({ PROXY_ALLOWED_PATH_PREFIXES: 'Api/' }).setting, 'PROXY_ALLOWED_PATH_PREFIXES');
  assert.equal(configError({ PROXY_ALLOWED_PATH_PREFIXES: '/Api/../' }).setting, 'PROXY_ALLOWED_PATH_PREFIXES');
  assert.equal(configError({ PROXY_ALLOWED_PATH_PREFIXES: ' , ' }).setting, 'PROXY_ALLOWED_PATH_PREFIXES');
  assert.equal(configError({ PROXY_READ_ONLY: 'maybe' }).setting, 'PROXY_READ_ONLY');
  assert.equal(configError({ PROXY_HEADERS_TIMEOUT_SECONDS: '20', PROXY_REQUEST_TIMEOUT_SECONDS: '10' }).setting, 'PROXY_HEADERS_TIMEOUT_SECONDS');
  assert.deepEqual(loadConfig({ ...base, PROXY_RATE_LIMIT_PER_SECOND: '0.5' }).security.defaultRateLimit, { perSecond: 0.5, burst: 1 });
  assert.deepEqual(loadConfig({ ...base, PROXY_ALLOWED_PATH_PREFIXES: '/Api/V8/, /legacy/Api/V8/' }).security.allowedPathPrefixes, ['/Api/V8/', '/legacy/Api/V8/']);
});

test('the real process refuses a non-loopback listener without keys: exit 2, one line saying how to fix it', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const main = fileURLToPath(new URL('../../src/main.js', import.meta.url));
  const result = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...base, PROXY_HOST: '0.0.0.0', PROXY_PORT: '0' },
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(result.status, 2);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /PROXY_CLIENTS/);
  assert.match(lines[0]!, /PROXY_HOST=127\.0\.0\.1/);
  assert.match(lines[0]!, /PROXY_ALLOW_UNAUTHENTICATED=true/);
});

test('one schema: each field has one documented spelling; snake_case of earlier releases is read as that field', () => {
  const [viaAlias] = parseClients(JSON.stringify([{ name: 'a', key_file: '/k', rate_limit: { per_second: 2 }, body_limit_bytes: 10 }]), (p) => (p === '/k' ? KEY_A : noFiles(p)));
  assert.deepEqual(viaAlias?.keyDigest, sha256(KEY_A));
  assert.deepEqual(viaAlias?.rateLimit, { perSecond: 2, burst: 2 });
  assert.equal(viaAlias?.bodyLimitBytes, 10);
  const both = configError({ PROXY_CLIENTS: JSON.stringify([{ name: 'a', keyFile: '/k', key_file: '/k' }]) });
  assert.match(both.message, /^PROXY_CLIENTS: caller "a": give keyFile once \(key_file is another spelling of it\)$/);
  const unknown = configError({ PROXY_CLIENTS: JSON.stringify([{ name: 'a', key: KEY_A, keyfile: '/k' }]) });
  assert.match(unknown.message, /caller "a": unknown field "keyfile" \(known: name, key, keyFile, keySha256, /);
  assert.doesNotMatch(unknown.message, /key_file/, 'the known fields are the documented spellings');
});

test('one schema: a nested field\'s error names its path and its rule', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ name: 'a', key: KEY_A, allow: [{ methods: ['GET'], paths: [7] }] }, /^PROXY_CLIENTS: caller "a"\.allow\[0\]\.paths must be a non-empty array of strings$/],
    [{ name: 'a', key: KEY_A, allow: [{ method: ['GET'] }] }, /^PROXY_CLIENTS: caller "a"\.allow\[0\] must be an object with methods and\/or paths$/],
    [{ name: 'a', key: KEY_A, rateLimit: { burst: 2 } }, /^PROXY_CLIENTS: caller "a"\.rateLimit\.perSecond must be a positive number$/],
    [{ name: 'a', key: KEY_A, rateLimit: 5 }, /^PROXY_CLIENTS: caller "a"\.rateLimit must be an object \{"perSecond": n, "burst": n\}$/],
    [{ name: 'a', clientId: 'has space', clientSecret: 'x'.repeat(16) }, /^PROXY_CLIENTS: caller "a"\.clientId must be 1-255 characters without spaces or colons$/],
  ];
  for (const [entry, expected] of cases) assert.match(configError({ PROXY_CLIENTS: JSON.stringify([entry]) }).message, expected);
});
