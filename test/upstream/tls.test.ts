/**
 * TLS to SuiteCRM, against the SuiteCRM double behind a TLS-terminating forwarder whose
 * certificate is signed by a CA made for this test: verified by default, SUITECRM_CA_FILE
 * trusts the private CA, SUITECRM_TLS_INSECURE=true skips verification with a warning; the proxy
 * and --check-config behave alike.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkConfig } from '../../src/cli/check-config.js';
import { startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm.js';
import { CC_ENV, startProxy } from '../support/proxy-harness.js';
import { makeTestPki, startTlsForwarder, type TestPki, type TlsForwarder } from '../support/tls.js';
let fake: FakeSuiteCrm;
let pki: TestPki;
let https: TlsForwarder;

before(async () => {
  fake = await startFakeSuiteCrm();
  pki = makeTestPki();
  https = await startTlsForwarder(pki, fake.port);
});

after(async () => {
  await https.close();
  await fake.close();
  pki.remove();
});

function proxyTo(env: Record<string, string>) {
  return startProxy(`https://127.0.0.1:${https.port}`, env);
}

test('by default an untrusted certificate is refused, and the error names SUITECRM_CA_FILE', async (t) => {
  fake.reset();
  const proxy = await proxyTo({});
  t.after(() => proxy.close());
  const response = await fetch(`${proxy.url}/Api/V8/module/Accounts`);
  assert.equal(response.status, 503);
  const error = ((await response.json()) as { errors: { code: string; detail: string }[] }).errors[0]!;
  assert.equal(error.code, 'TOKEN_UNAVAILABLE');
  // OpenSSL names an unknown issuer one of two ways, depending on whether the chain was sent.
  assert.match(error.detail, /TLS certificate could not be verified \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\).*SUITECRM_CA_FILE/);
  const failure = proxy.logEvents('token_request_failed')[0];
  assert.ok(failure, 'the failed token request is logged');
  assert.match(String(failure.cause), /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  assert.equal(failure.failureClass, 'misconfigured');
  assert.match(String(failure.msg), /SUITECRM_CA_FILE/);
  assert.equal(fake.tokenRequestCount(), 0, 'nothing was sent to an unverified server');
  assert.ok(!proxy.logs.join('\n').includes(CC_ENV.SUITECRM_CLIENT_SECRET));
});

test('SUITECRM_CA_FILE trusts the private CA', async (t) => {
  fake.reset();
  const proxy = await proxyTo({ SUITECRM_CA_FILE: pki.caFile });
  t.after(() => proxy.close());
  assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
  assert.equal(fake.grantsIssued(), 1);
  assert.equal(fake.requests.length, 1);
  assert.equal(proxy.logEvents('tls_verification_disabled').length, 0);
});

test('SUITECRM_TLS_INSECURE=true skips verification and warns at start-up', async (t) => {
  fake.reset();
  const proxy = await proxyTo({ SUITECRM_TLS_INSECURE: 'true' });
  t.after(() => proxy.close());
  const warning = proxy.logEvents('tls_verification_disabled')[0];
  assert.ok(warning, 'the warning is logged before any request');
  assert.equal(warning.level, 40);
  assert.match(String(warning.msg), /does NOT verify/);
  assert.equal((await fetch(`${proxy.url}/Api/V8/module/Accounts`)).status, 200);
});

test('TLS settings with an http SUITECRM_URL are reported as ignored', async (t) => {
  const proxy = await startProxy(fake.url, { SUITECRM_TLS_INSECURE: 'true' });
  t.after(() => proxy.close());
  assert.equal(proxy.logEvents('tls_settings_ignored').length, 1);
  assert.equal(proxy.logEvents('tls_verification_disabled').length, 0);
});

test('--check-config uses the same TLS settings: fails clearly without the CA, passes with it', async () => {
  const run = async (extra: Record<string, string>) => {
    const env = { SUITECRM_URL: `https://127.0.0.1:${https.port}`, ...CC_ENV, ...extra };
    const lines: string[] = [];
    const code = await checkConfig({ env, fileValues: {}, configPath: undefined, merged: env }, (l) => lines.push(l), (l) => lines.push(l));
    return { code, text: lines.join('\n') };
  };
  const untrusted = await run({});
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.text, /token: FAILED \(misconfigured: UNABLE_TO_\w+\).*SUITECRM_CA_FILE/);
  const trusted = await run({ SUITECRM_CA_FILE: pki.caFile });
  assert.equal(trusted.code, 0, trusted.text);
  const insecure = await run({ SUITECRM_TLS_INSECURE: 'true' });
  assert.equal(insecure.code, 0, insecure.text);
  assert.match(insecure.text, /warning: SUITECRM_TLS_INSECURE=true: the proxy does NOT verify/);
  for (const result of [untrusted, trusted, insecure]) assert.ok(!result.text.includes(CC_ENV.SUITECRM_CLIENT_SECRET));
});
