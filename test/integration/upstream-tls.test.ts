/**
 * TLS to SuiteCRM, against the SuiteCRM double behind a TLS-terminating forwarder whose
 * certificate is signed by a CA made for this test: verified by default, SUITECRM_CA_FILE
 * trusts the private CA, SUITECRM_TLS_INSECURE=true skips verification with a warning.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { DEFAULT_CLIENTS, startFakeSuiteCrm, type FakeSuiteCrm } from '../support/fake-suitecrm/index.js';
import { logSink } from '../support/log-sink.js';
import { makeTestPki, startTlsForwarder, type TestPki, type TlsForwarder } from '../support/tls.js';

const client = DEFAULT_CLIENTS[0]!;
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

async function proxyTo(extra: Record<string, string>) {
  const sink = logSink('debug');
  const config = loadConfig({
    SUITECRM_URL: `https://127.0.0.1:${https.port}`, SUITECRM_CLIENT_ID: client.id, SUITECRM_CLIENT_SECRET: client.secret, ...extra,
  });
  const app = await buildApp(config, { logger: sink.logger });
  return { app, sink };
}

test('by default an untrusted certificate is refused, and the error names SUITECRM_CA_FILE', async (t) => {
  fake.reset();
  const { app, sink } = await proxyTo({});
  t.after(() => app.close());
  const response = await app.inject({ url: '/Api/V8/module/Accounts' });
  assert.equal(response.statusCode, 503);
  const error = response.json<{ errors: { code: string; detail: string }[] }>().errors[0]!;
  assert.equal(error.code, 'TOKEN_UNAVAILABLE');
  assert.match(error.detail, /TLS certificate could not be verified \(UNABLE_TO_GET_ISSUER_CERT_LOCALLY\).*SUITECRM_CA_FILE/);
  const failure = sink.entries().find((e) => e.event === 'token_request_failed');
  assert.ok(failure, 'the failed token request is logged');
  assert.equal(failure.cause, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
  assert.equal(failure.failureClass, 'misconfigured');
  assert.match(String(failure.msg), /SUITECRM_CA_FILE/);
  assert.equal(fake.tokenRequestCount(), 0, 'nothing was sent to an unverified server');
  assert.ok(!sink.text().includes(client.secret));
});

test('SUITECRM_CA_FILE trusts the private CA', async (t) => {
  fake.reset();
  const { app, sink } = await proxyTo({ SUITECRM_CA_FILE: pki.caFile });
  t.after(() => app.close());
  const response = await app.inject({ url: '/Api/V8/module/Accounts' });
  assert.equal(response.statusCode, 200);
  assert.equal(fake.grantsIssued(), 1);
  assert.equal(fake.requests.length, 1);
  assert.ok(!sink.entries().some((e) => e.event === 'tls_verification_disabled'));
});

test('SUITECRM_TLS_INSECURE=true skips verification and warns at start-up', async (t) => {
  fake.reset();
  const { app, sink } = await proxyTo({ SUITECRM_TLS_INSECURE: 'true' });
  t.after(() => app.close());
  const warning = sink.entries().find((e) => e.event === 'tls_verification_disabled');
  assert.ok(warning, 'the warning is logged before any request');
  assert.equal(warning.level, 40);
  assert.match(String(warning.msg), /does NOT verify/);
  assert.equal((await app.inject({ url: '/Api/V8/module/Accounts' })).statusCode, 200);
});

test('TLS settings with an http SUITECRM_URL are reported as ignored', async (t) => {
  const sink = logSink();
  const config = loadConfig({ SUITECRM_URL: fake.url, SUITECRM_CLIENT_ID: client.id, SUITECRM_CLIENT_SECRET: client.secret, SUITECRM_TLS_INSECURE: 'true' });
  const app = await buildApp(config, { logger: sink.logger });
  t.after(() => app.close());
  assert.ok(sink.entries().some((e) => e.event === 'tls_settings_ignored'));
  assert.ok(!sink.entries().some((e) => e.event === 'tls_verification_disabled'));
});
