/**
 * Refresh ahead with a fake clock: inside the refresh margin the token is renewed in the
 * background while requests keep using the still-valid one; past its life it is never used.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startFakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy } from '../support/proxy-harness.js';
import { until } from '../support/wait.js';

describe('refresh ahead (fake clock)', () => {
  test('the token is renewed in the background; no request waits for it', async () => {
    const crm = await startFakeSuiteCrm();
    let clock = Date.now();
    const proxy = await startProxy(crm.url, {}, { now: () => clock });
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      const first = crm.requests.at(-1)!.tokenJti;
      clock += (3600 - 5 - 60 + 1) * 1000; // inside the refresh margin
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.requests.at(-1)!.tokenJti, first, 'the request that noticed the margin used the still-valid token');
      await until('the background refresh', () => crm.grantsIssued() === 2, 5000);
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.notEqual(crm.requests.at(-1)!.tokenJti, first);
      const lines = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      assert.deepEqual(lines.map((l) => l.tokenWaited), [true, false, false]);
      // Past the end of its life a token is not used: the next request waits for a new one.
      clock += 3600 * 1000;
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.grantsIssued(), 3);
    } finally {
      await proxy.close();
      await crm.close();
    }
  });
});
