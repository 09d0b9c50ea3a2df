/**
 * The 401 loop guard counts one rejection per token (issue 22): any number of replays refused with
 * the same fresh token count once, a token that had worked and is refused later was revoked (no
 * pause), and the pause grows only when fresh tokens are refused on their first use. Fake clocks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReauthGuard } from '../../src/suitecrm-token/reauth-guard.js';
import { scriptedManager } from '../support/scripted-manager.js';

function guardOnFakeClock(maxPauseMs = 30_000) {
  let clock = 1_000_000;
  const guard = new ReauthGuard(() => maxPauseMs, () => clock, () => 1);
  return { guard, advance: (ms: number) => { clock += ms; } };
}

const token = (accessToken: string) => ({ accessToken });

test('guard: fifty replays refused with one fresh token count as one rejection', () => {
  const { guard } = guardOnFakeClock();
  const first = guard.replayRejected(token('fresh-1'));
  assert.deepEqual(first, { kind: 'fresh_token_rejected', pauseMs: 1000 });
  for (let i = 0; i < 49; i++) assert.deepEqual(guard.replayRejected(token('fresh-1')), { kind: 'already_counted' });
  assert.equal(guard.blocked(), true);
  // The next fresh token refused on first use: the second count doubles the pause, not the fiftieth.
  assert.deepEqual(guard.replayRejected(token('fresh-2')), { kind: 'fresh_token_rejected', pauseMs: 2000 });
});

test('guard: a token refused after it had worked was revoked: no count, no pause', () => {
  const { guard } = guardOnFakeClock();
  guard.accepted(token('worked'));
  for (let i = 0; i < 10; i++) assert.deepEqual(guard.replayRejected(token('worked')), { kind: 'revoked' });
  assert.equal(guard.blocked(), false);
  // The count did not grow: the next fresh rejection starts at the first pause.
  assert.deepEqual(guard.replayRejected(token('fresh')), { kind: 'fresh_token_rejected', pauseMs: 1000 });
});

test('guard: the pause ends by time, and a success lifts it and resets the count', () => {
  const { guard, advance } = guardOnFakeClock();
  guard.replayRejected(token('a'));
  guard.replayRejected(token('b'));
  assert.equal(guard.blocked(), true);
  advance(2000);
  assert.equal(guard.blocked(), false, 'the second pause was 2 s');
  guard.replayRejected(token('c'));
  assert.equal(guard.blocked(), true);
  guard.accepted(token('d'));
  assert.equal(guard.blocked(), false);
  assert.deepEqual(guard.replayRejected(token('e')), { kind: 'fresh_token_rejected', pauseMs: 1000 });
});

test('guard: the pause never exceeds TOKEN_RETRY_MAX_SECONDS', () => {
  const { guard } = guardOnFakeClock(5000);
  let last = 0;
  for (let i = 0; i < 10; i++) {
    const verdict = guard.replayRejected(token(`fresh-${i}`));
    if (verdict.kind === 'fresh_token_rejected') last = verdict.pauseMs;
  }
  assert.equal(last, 5000);
});

test('manager: a burst of replays on one revoked fresh token counts once and causes no extra grant', async () => {
  const { manager, calls } = scriptedManager();
  const old = await manager.get();
  assert.equal(manager.rejected(old), true);
  const fresh = await manager.get('rejected_401');
  const pauses = Array.from({ length: 50 }, () => manager.replayRejected(fresh));
  assert.equal(pauses.filter((pause) => pause > 0).length, 1, 'one pause started');
  assert.equal(manager.rejected(fresh), false, 'while it lasts, 401s go back to the caller');
  assert.equal(calls.length, 2);
});

test('manager: a replay refused with a token that had worked drops it; the next request renews, no pause', async () => {
  const { manager, calls } = scriptedManager();
  const old = await manager.get();
  manager.rejected(old);
  const fresh = await manager.get('rejected_401');
  manager.accepted(fresh);
  // An admin revoked the token after it had served requests: an ordinary revocation.
  assert.equal(manager.replayRejected(fresh), 0);
  assert.equal(manager.current(), undefined, 'the revoked token is no longer used');
  assert.equal(manager.rejected(fresh), true, 'the guard is not up');
  assert.equal((await manager.get('rejected_401')).accessToken, 'token-3');
  assert.equal(calls.length, 3);
});
