/**
 * TLS towards SuiteCRM. Certificates are verified against the public CAs by default;
 * SUITECRM_CA_FILE adds a private CA to them; SUITECRM_TLS_INSECURE=true turns verification off,
 * with a warning at start-up. The secure context is built once and shared by every connection
 * of both pools (API and token), instead of parsing the CA bundle per connection.
 */
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';

export interface UpstreamTlsSettings {
  readonly suitecrmUrl: URL;
  readonly suitecrmCa: string | undefined;
  readonly suitecrmTlsInsecure: boolean;
}

/** Options undici passes on to `tls.connect`. */
export interface UpstreamTlsOptions {
  readonly secureContext?: SecureContext;
  readonly rejectUnauthorized?: boolean;
}

export function upstreamTlsOptions(settings: UpstreamTlsSettings, logger: Logger): UpstreamTlsOptions {
  const log = logger.child({ component: 'tls' });
  if (settings.suitecrmUrl.protocol !== 'https:') {
    if (settings.suitecrmCa !== undefined || settings.suitecrmTlsInsecure) {
      log.warn({ event: 'tls_settings_ignored' }, 'SUITECRM_CA_FILE and SUITECRM_TLS_INSECURE have no effect: SUITECRM_URL uses http');
    }
    return {};
  }
  if (settings.suitecrmTlsInsecure) {
    log.warn({ event: 'tls_verification_disabled' },
      'SUITECRM_TLS_INSECURE=true: the proxy does NOT verify SuiteCRM\'s TLS certificate. Anyone on the network path can impersonate SuiteCRM and capture the credentials and tokens. Use SUITECRM_CA_FILE for a private CA instead.');
    return { rejectUnauthorized: false };
  }
  if (settings.suitecrmCa !== undefined) {
    return { secureContext: createSecureContext({ ca: [...rootCertificates, settings.suitecrmCa] }) };
  }
  return {};
}
