/**
 * `npm start` starts the compiled proxy and never compiles: a missing dist/ gets one line saying
 * what to run, not a stack trace from Node's module loader.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

test('npm start has no compile step', () => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(scripts.prestart, undefined);
  assert.doesNotMatch(scripts.start ?? '', /tsc/);
  assert.match(scripts.start ?? '', /node dist\/src\/main\.js/);
});

test('npm start without dist/ says to run npm run build, in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  try {
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const run = spawnSync('npm', ['start', '--silent'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim(), 'suitecrm-auth-proxy: dist/src/main.js is missing; run npm run build first');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
