/**
 * When the pause after rejected credentials ends early (issue 22): new values from a reload end
 * the pause and the backoff and are tried at once; an operator's SIGHUP retries a paused
 * credential once, at once, and the backoff goes on if it fails again. Fake clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isProxyError } from '../../src/errors.js';
import { TokenRequestError } from '../../src/suitecrm-token/grant.js';
import { scriptedManager } from '../support/scripted-manager.js';
import { until } from '../support/wait.js';

const rejected = () => new TokenRequestError('rejected', 'invalid_client', 'SuiteCRM rejected the client credentials; check SUITECRM_CLIENT_SECRET', 401);

test('new credentials end the rejection pause and are tried at once, without waiting for a caller', async () => {
  const { manager, calls, script } = scriptedManager();
  script.push(rejected);
  await assert.rejects(manager.get(), (err: unknown) => isProxyError(err) && err.code === 'CREDENTIALS_REJECTED');
  assert.ok(manager.status().nextAttemptInMs >= 60_000);
  await assert.rejects(manager.get(), (err: unknown) => isProxyError(err) && err.code === 'CREDENTIALS_REJECTED');
  assert.equal(calls.length, 1, 'paused: no second token request');

  manager.credentialsChanged();
  await until('the renewal with the new values', () => manager.current() !== undefined);
  assert.equal(calls.length, 2);
  assert.equal(manager.status().nextAttemptInMs, 0);
  assert.equal(manager.status().lastFailure, undefined);
});

test('new credentials refused again start the backoff from its first pause, not where the old ones left it', async () => {
  const { manager, script, advance } = scriptedManager();
  script.push(rejected, rejected, rejected);
  await assert.rejects(manager.get());
  advance(manager.status().nextAttemptInMs);
  await assert.rejects(manager.get());
  const secondPause = manager.status().nextAttemptInMs;
  manager.credentialsChanged();
  await until('the attempt with the new values to fail', () => manager.status().nextAttemptInMs > 0);
  assert.ok(manager.status().nextAttemptInMs < secondPause, `${manager.status().nextAttemptInMs} < ${secondPause}`);
});

test('new secrets while a token is in hand change nothing until its refresh: no token request', async () => {
  const { manager, calls } = scriptedManager();
  await manager.get();
  manager.credentialsChanged();
  assert.equal(manager.current()?.accessToken, 'token-1');
  assert.equal(calls.length, 1);
});

test('SIGHUP retries a paused credential once at once; refused again, the backoff goes on', async () => {
  const { manager, calls, script } = scriptedManager();
  script.push(rejected, rejected);
  await assert.rejects(manager.get());
  const firstPause = manager.status().nextAttemptInMs;
  manager.retryNow();
  await until('the retry', () => calls.length === 2 && !manager.status().renewing);
  assert.ok(manager.status().nextAttemptInMs > firstPause, 'the second pause is longer');
  manager.retryNow();
  await until('the second retry', () => manager.current() !== undefined);
  assert.equal(calls.length, 3);
});

test('SIGHUP with nothing paused asks SuiteCRM for nothing', async () => {
  const { manager, calls } = scriptedManager();
  manager.retryNow();
  await manager.get();
  manager.retryNow();
  assert.equal(calls.length, 1);
});
