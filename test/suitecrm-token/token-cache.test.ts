/**
 * The token cache end to end: one token serves many requests, and concurrent cold requests share
 * one grant (single flight). The real app on 127.0.0.1 in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { startProxy } from '../support/proxy-harness.js';

describe('token cache and single flight', () => {
  let crm: FakeSuiteCrm;
  before(async () => {
    crm = await startFakeSuiteCrm();
  });
  after(async () => crm.close());

  test('one token serves many requests, and 500 concurrent cold requests cause one grant', async () => {
    const cold = await startProxy(crm.url);
    try {
      const before = crm.tokenRequestCount();
      const answers = await Promise.all(Array.from({ length: 500 }, () => fetch(`${cold.url}/Api/V8/meta/modules`).then(async (r) => { await r.arrayBuffer(); return r.status; })));
      assert.ok(answers.every((s) => s === 200), `statuses: ${[...new Set(answers)]}`);
      assert.equal(crm.tokenRequestCount() - before, 1);
      for (let i = 0; i < 20; i++) assert.equal((await fetch(`${cold.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.tokenRequestCount() - before, 1);
    } finally {
      await cold.close();
    }
  });
});
