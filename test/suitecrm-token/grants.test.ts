/**
 * The grants the proxy uses with SuiteCRM: password (renewed with the rotating refresh token,
 * falling back to the full grant when a refresh fails), refresh_token bootstrapped from a
 * supplied token, JSON token requests, and the SuiteCRM 8 /legacy base path.
 * The real app on 127.0.0.1 in front of the SuiteCRM double.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { PW_ENV, startProxy } from '../support/proxy-harness.js';

describe('grants', () => {
  let crm: FakeSuiteCrm;
  before(async () => {
    crm = await startFakeSuiteCrm();
  });
  after(async () => crm.close());

  test('password grant renews with the refresh token, which rotates', async () => {
    const proxy = await startProxy(crm.url, PW_ENV);
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.equal(crm.tokenRequests.at(-1)!.grant, 'password');
      for (let round = 0; round < 3; round++) {
        crm.revokeAccessToken(String(crm.requests.at(-1)!.headers.authorization).slice(7));
        assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
        assert.equal(crm.tokenRequests.at(-1)!.grant, 'refresh_token');
        assert.equal(crm.tokenRequests.at(-1)!.status, 200, 'always the newest refresh token');
      }
    } finally {
      await proxy.close();
    }
  });

  test('a failing refresh (the 7.13.3-7.14.4 invalid_client bug) falls back to the full grant', async () => {
    const proxy = await startProxy(crm.url, PW_ENV);
    try {
      await fetch(`${proxy.url}/Api/V8/current-user`);
      crm.faults.refreshInvalidClientBug = true;
      crm.revokeAll();
      const res = await fetch(`${proxy.url}/Api/V8/current-user`);
      assert.equal(res.status, 200);
      assert.deepEqual(crm.tokenRequests.slice(-2).map((t) => [t.grant, t.status]), [['refresh_token', 401], ['password', 200]]);
    } finally {
      crm.faults.refreshInvalidClientBug = false;
      await proxy.close();
    }
  });

  test('refresh_token grant bootstraps from a supplied refresh token and keeps the newest', async () => {
    const login = await fetch(`${crm.url}/Api/access_token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'pw-client', client_secret: 'pw-secret-S3cr3t!', username: 'admin', password: 'admin-P4ssw0rd!' }),
    });
    const { refresh_token: bootstrap } = (await login.json()) as { refresh_token: string };
    const proxy = await startProxy(crm.url, { ...PW_ENV, SUITECRM_GRANT_TYPE: 'refresh_token', SUITECRM_REFRESH_TOKEN: bootstrap });
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      crm.revokeAccessToken(String(crm.requests.at(-1)!.headers.authorization).slice(7));
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      assert.deepEqual(crm.tokenRequests.slice(-2).map((t) => [t.grant, t.status]), [['refresh_token', 200], ['refresh_token', 200]]);
      assert.ok(!proxy.logs.join('\n').includes(bootstrap));
    } finally {
      await proxy.close();
    }
  });

  test('JSON token requests as an option; scope is never sent', async () => {
    const proxy = await startProxy(crm.url, { ...PW_ENV, SUITECRM_TOKEN_REQUEST_FORMAT: 'json' });
    try {
      assert.equal((await fetch(`${proxy.url}/Api/V8/current-user`)).status, 200);
      const sent = crm.tokenRequests.at(-1)!;
      assert.match(sent.contentType, /^application\/json/);
      assert.ok(!('scope' in sent.body));
    } finally {
      await proxy.close();
    }
  });

  test("SuiteCRM 8: a /legacy base path is kept on every request", async () => {
    const proxy = await startProxy(`${crm.url}/legacy`);
    try {
      const tokenCount = crm.tokenRequestCount();
      const res = await fetch(`${proxy.url}/Api/V8/module/Accounts`);
      assert.equal(res.status, 200);
      assert.equal(crm.requests.at(-1)!.path, '/legacy/Api/V8/module/Accounts');
      assert.equal(crm.tokenRequestCount() - tokenCount, 1);
    } finally {
      await proxy.close();
    }
  });
});
