/** Settings of the production pieces: TLS to SuiteCRM and the shutdown timeout; TLS error hints. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { upstreamError } from '../../src/errors.js';
import { configError } from '../support/config-error.js';

const base = { SUITECRM_URL: 'https://crm.example.com', SUITECRM_CLIENT_ID: 'id', SUITECRM_CLIENT_SECRET: 'very-secret-value' };
const PEM = `-----BEGIN CERTIFICATE-----
MIIBdjCCAR2gAwIBAgIUKc1Ec6pGxY1QS0zZ5vx5m0C0M7kwCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdGNhMB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAw
MFowETEPMA0GA1UEAwwGdGVzdGNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
-----END CERTIFICATE-----
`;


test('TLS is verified by default and the shutdown timeout is 25 s', () => {
  const config = loadConfig(base);
  assert.equal(config.suitecrmCa, undefined);
  assert.equal(config.suitecrmTlsInsecure, false);
  assert.equal(config.shutdownTimeoutMs, 25_000);
  assert.equal(loadConfig({ ...base, SHUTDOWN_TIMEOUT_SECONDS: '0.5' }).shutdownTimeoutMs, 500);
});

test('SUITECRM_CA_FILE is read at start-up', () => {
  const err = configError({ ...base, SUITECRM_CA_FILE: '/nowhere/ca.pem' });
  assert.equal(err.setting, 'SUITECRM_CA_FILE');
  assert.match(err.message, /cannot read file \/nowhere\/ca\.pem \(ENOENT\)/);
});

test('SUITECRM_CA_FILE must hold a PEM certificate', () => {
  const notPem = configError({ ...base, SUITECRM_CA_FILE: '/ca.pem' }, { '/ca.pem': 'hello' });
  assert.match(notPem.message, /^SUITECRM_CA_FILE: \/ca\.pem holds no PEM certificate/);
  const broken = configError({ ...base, SUITECRM_CA_FILE: '/ca.pem' }, { '/ca.pem': PEM });
  assert.equal(broken.setting, 'SUITECRM_CA_FILE', 'a truncated certificate is refused too');
});

test('SUITECRM_TLS_INSECURE takes a boolean and contradicts SUITECRM_CA_FILE', () => {
  assert.equal(loadConfig({ ...base, SUITECRM_TLS_INSECURE: 'true' }).suitecrmTlsInsecure, true);
  assert.match(configError({ ...base, SUITECRM_TLS_INSECURE: 'maybe' }).message, /^SUITECRM_TLS_INSECURE: expected true or false/);
  const both = configError({ ...base, SUITECRM_TLS_INSECURE: 'true', SUITECRM_CA_FILE: '/ca.pem' }, { '/ca.pem': PEM });
  assert.equal(both.setting, 'SUITECRM_TLS_INSECURE');
});

test('SHUTDOWN_TIMEOUT_SECONDS must be a non-negative number', () => {
  assert.match(configError({ ...base, SHUTDOWN_TIMEOUT_SECONDS: '-1' }).message, /^SHUTDOWN_TIMEOUT_SECONDS: must be between 0 and 3600/);
  assert.match(configError({ ...base, SHUTDOWN_TIMEOUT_SECONDS: 'soon' }).message, /^SHUTDOWN_TIMEOUT_SECONDS: expected a number/);
});

test('certificate failures on proxied calls say what to check', () => {
  const untrusted = upstreamError(Object.assign(new Error('unable to get local issuer certificate'), { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }));
  assert.equal(untrusted.code, 'UPSTREAM_UNREACHABLE');
  assert.match(untrusted.detail, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY.*SUITECRM_CA_FILE/);
  const wrongHost = upstreamError(Object.assign(new Error('altname'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }));
  assert.match(wrongHost.detail, /does not name the host in SUITECRM_URL/);
  const expired = upstreamError(new Error('fetch failed', { cause: Object.assign(new Error('expired'), { code: 'CERT_HAS_EXPIRED' }) }));
  assert.match(expired.detail, /expired or not yet valid/);
});
