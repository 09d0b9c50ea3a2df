import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { TokenRequestError, type Token } from '../../src/suitecrm-token/grant.js';
import { scheduleFor } from '../../src/suitecrm-token/token.js';
import { TokenManager } from '../../src/suitecrm-token/token-manager.js';
import { isProxyError } from '../../src/errors.js';
import { scriptedManager as setup } from '../support/scripted-manager.js';
import { until } from '../support/wait.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

test('500 concurrent cold callers share one token request', async () => {
  const { manager, calls } = setup();
  const tokens = await Promise.all(Array.from({ length: 500 }, () => manager.get()));
  assert.equal(calls.length, 1);
  assert.ok(tokens.every((t) => t.accessToken === 'token-1'));
});

test('current() is synchronous and returns the cached token until it is due', async () => {
  const { manager, calls, advance } = setup();
  assert.equal(manager.current(), undefined);
  await manager.get();
  advance(3_000_000);
  assert.equal(manager.current()?.accessToken, 'token-1');
  assert.equal(calls.length, 1, 'no refresh before the margin');
});

test('refresh ahead: one background refresh while the old token keeps being served', async () => {
  const { manager, calls, advance, hold, release } = setup();
  await manager.get();
  advance(3_600_000 - 5_000 - 60_000 + 1); // inside the refresh margin, still valid
  hold();
  for (let i = 0; i < 50; i++) assert.equal(manager.current()?.accessToken, 'token-1');
  assert.equal(calls.length, 2, 'exactly one background refresh started');
  release();
  await flush(); await flush();
  assert.equal(manager.current()?.accessToken, 'token-2');
});

test('a token is not used after expires_in minus the safety margin', async () => {
  const { manager, advance, hold } = setup();
  await manager.get();
  hold();
  advance(3_600_000 - 5_000);
  assert.equal(manager.current(), undefined);
});

test('the margin is capped for short tokens so a 5 s token does not loop', () => {
  const token: Token = { accessToken: 'a', lifetimeMs: 5000, expiresInReported: true, receivedAt: 0, grant: 'client_credentials', refreshToken: undefined, authorization: 'Bearer a' };
  const cached = scheduleFor(token, 60_000);
  assert.equal(cached.usableUntil, 4500);
  assert.equal(cached.refreshAt, 3250);
  assert.ok(cached.refreshAt > 0);
});

test('a 5 s token with the default 60 s margin causes one token request per refresh window', async () => {
  const { manager, calls, advance } = setup({}, 5000);
  await manager.get();
  // Serve requests every 100 ms for 60 s of fake time.
  for (let i = 0; i < 600; i++) {
    advance(100);
    if (!manager.current()) await manager.get();
    await flush();
  }
  // One window is 3.25 s: 60 s / 3.25 s ≈ 18.5 renewals, never a loop.
  assert.ok(calls.length >= 17 && calls.length <= 21, `token requests: ${calls.length}`);
});

test('401 on the current token: fifty concurrent rejections cause one renewal', async () => {
  const { manager, calls } = setup();
  const token = await manager.get();
  const replays = Array.from({ length: 50 }, () => manager.rejected(token));
  assert.ok(replays.every(Boolean));
  const fresh = await Promise.all(Array.from({ length: 50 }, () => manager.get('rejected_401')));
  assert.equal(calls.length, 2);
  assert.ok(fresh.every((t) => t.accessToken === 'token-2'));
  // A late 401 for the old token does not discard the new one.
  manager.rejected(token);
  assert.equal(manager.current()?.accessToken, 'token-2');
});

test('when fresh tokens are rejected too, 401s stop causing grants for a while', async () => {
  const { manager, calls, advance } = setup();
  const token = await manager.get();
  assert.equal(manager.rejected(token), true);
  const fresh = await manager.get();
  manager.replayRejected(fresh);
  for (let i = 0; i < 20; i++) assert.equal(manager.rejected(fresh), false);
  assert.equal(calls.length, 2);
  advance(60_000);
  assert.equal(manager.rejected(fresh), true, 'the guard lifts after its pause');
  manager.accepted(fresh);
});

test('password grant renews with the newest refresh token, then falls back to the full grant', async () => {
  const { manager, calls, script, issue } = setup({ grantType: 'password' });
  const first = await manager.get();
  assert.equal(first.refreshToken, 'refresh-1');
  manager.rejected(first);
  await manager.get();
  assert.deepEqual(calls[1], { grant: 'refresh_token', refreshToken: 'refresh-1' });
  manager.rejected(manager.current()!);
  script.push(() => new TokenRequestError('refresh_rejected', 'invalid_client', 'refresh bug', 401));
  script.push((req) => issue(req));
  const third = await manager.get();
  assert.deepEqual(calls.slice(2).map((c) => c.grant), ['refresh_token', 'password']);
  assert.equal(calls[2]?.refreshToken, 'refresh-2', 'the rotated refresh token was kept');
  assert.ok(third.accessToken);
});

test('refresh_token grant without a fallback reports rejected credentials', async () => {
  const { manager, script } = setup({ grantType: 'refresh_token', initialRefreshToken: 'boot' });
  script.push(() => new TokenRequestError('refresh_rejected', 'invalid_request', 'revoked', 401));
  await assert.rejects(manager.get(), (err: unknown) => isProxyError(err) && err.code === 'CREDENTIALS_REJECTED' && /SUITECRM_REFRESH_TOKEN/.test(err.detail));
});

test('rejected credentials: callers get a fast 503 and SuiteCRM is not hammered', async () => {
  const { manager, calls, script, advance } = setup();
  script.push(() => new TokenRequestError('rejected', 'invalid_client', 'check SUITECRM_CLIENT_SECRET', 401));
  await assert.rejects(manager.get(), (err: unknown) => isProxyError(err) && err.code === 'CREDENTIALS_REJECTED' && err.retryAfterSeconds! >= 60);
  for (let i = 0; i < 100; i++) {
    await assert.rejects(manager.get(), (err: unknown) => isProxyError(err) && err.code === 'CREDENTIALS_REJECTED');
  }
  assert.equal(calls.length, 1);
  advance(200_000);
  await manager.get();
  assert.equal(calls.length, 2, 'retried after the slow pause, and recovered');
  assert.equal(manager.status().lastFailure, undefined);
});

test('transient failures back off exponentially and a quick blip is retried at once', async () => {
  const { manager, calls, script, advance } = setup();
  const down = () => new TokenRequestError('transient', 'ECONNREFUSED', 'down');
  script.push(down, down);
  await assert.rejects(manager.get(), (err: unknown) => isProxyError(err) && err.code === 'TOKEN_UNAVAILABLE');
  assert.equal(calls.length, 2, 'one quick retry inside the renewal');
  const wait = manager.status().nextAttemptInMs;
  assert.ok(wait >= 250 && wait <= 500, `first pause ${wait}`);
  await assert.rejects(manager.get());
  assert.equal(calls.length, 2, 'no request during the pause');
  script.push(down, down);
  advance(wait);
  await assert.rejects(manager.get());
  const second = manager.status().nextAttemptInMs;
  assert.ok(second > wait, `pause grows: ${second}`);
  advance(second);
  assert.ok(await manager.get());
});

test('a still-valid token keeps being used while its refresh fails', async () => {
  const { manager, calls, script, advance } = setup();
  await manager.get();
  advance(3_600_000 - 5_000 - 30_000);
  const down = () => new TokenRequestError('transient', 'http_502', 'bad gateway', 502);
  script.push(down, down);
  assert.equal(manager.current()?.accessToken, 'token-1');
  // The quick retry inside the renewal waits on a real timer (no clock option for it): poll
  // until the refresh and its retry have both failed.
  await until('the refresh and its quick retry to fail', () => calls.length === 3 && manager.status().lastFailure !== undefined);
  assert.equal(manager.current()?.accessToken, 'token-1');
  assert.equal(manager.status().lastFailure?.failureClass, 'transient');
});

test('retry settings are read on use, so a configuration reload changes the next pause', async () => {
  let clock = 1_000_000;
  let credentialsRetryMs = 60_000;
  const manager = new TokenManager({
    grantType: 'client_credentials', refreshMarginMs: 60_000, tokenRetryMaxMs: 30_000, credentialKey: 'k',
    // A getter, as token-manager-factory.ts passes it: the reload's value is seen at once.
    get credentialsRetryMs() { return credentialsRetryMs; },
    logger: pino({ level: 'silent' }), now: () => clock, random: () => 0.5,
    fetchToken: async () => { throw new TokenRequestError('rejected', 'invalid_client', 'check SUITECRM_CLIENT_SECRET', 401); },
  });
  await assert.rejects(manager.get());
  const first = manager.status().nextAttemptInMs;
  assert.ok(first >= 60_000, `first pause from 60 s: ${first}`);
  credentialsRetryMs = 1_000;
  // The pause in force stays; the next failure is paced by the new setting (at most 10 x 1 s).
  clock += first;
  await assert.rejects(manager.get());
  assert.ok(manager.status().nextAttemptInMs <= 10_000, `pause after the reload: ${manager.status().nextAttemptInMs}`);
});
