/**
 * The real process: a bad or missing setting exits non-zero at once with one line naming it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

function start(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

const good = { SUITECRM_URL: 'http://127.0.0.1:9', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'Startup-Secret-991', PROXY_PORT: '0' };

for (const [setting, env] of [
  ['SUITECRM_URL', { ...good, SUITECRM_URL: '' }],
  ['SUITECRM_URL', { ...good, SUITECRM_URL: 'crm.example.com' }],
  ['SUITECRM_CLIENT_SECRET', { ...good, SUITECRM_CLIENT_SECRET: '' }],
  ['SUITECRM_GRANT_TYPE', { ...good, SUITECRM_GRANT_TYPE: 'authorization_code' }],
  ['SUITECRM_PASSWORD', { ...good, SUITECRM_GRANT_TYPE: 'password', SUITECRM_USERNAME: 'u' }],
  ['PROXY_PORT', { ...good, PROXY_PORT: 'eighty' }],
  ['TOKEN_REFRESH_MARGIN_SECONDS', { ...good, TOKEN_REFRESH_MARGIN_SECONDS: 'soon' }],
  ['SUITECRM_CLIENT_SECRET_FILE', { ...good, SUITECRM_CLIENT_SECRET: '', SUITECRM_CLIENT_SECRET_FILE: '/nonexistent/secret' }],
] as const) {
  test(`a bad ${setting} stops the process with one line naming it`, () => {
    const { code, stderr, stdout } = start(env);
    assert.notEqual(code, 0);
    assert.equal(code, 2);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${stderr}`);
    assert.match(lines[0]!, new RegExp(`\\b${setting}\\b`));
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!stderr.includes('Startup-Secret-991') && !stdout.includes('Startup-Secret-991'));
  });
}
