/**
 * TLS towards SuiteCRM. Certificates are verified against the public CAs by default;
 * SUITECRM_CA_FILE adds a private CA to them; SUITECRM_TLS_INSECURE=true turns verification off,
 * with a warning at start-up. Every pool to SuiteCRM (API, token, --check-config) takes its
 * connect options from here. The secure context is built once per call and shared by every
 * connection of the pools given it, instead of parsing the CA bundle per connection.
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

export interface TlsWarning {
  readonly event: 'tls_verification_disabled' | 'tls_settings_ignored';
  readonly message: string;
}

const isHttps = (settings: UpstreamTlsSettings): boolean => settings.suitecrmUrl.protocol === 'https:';

export function upstreamTlsOptions(settings: UpstreamTlsSettings): UpstreamTlsOptions {
  if (!isHttps(settings)) return {};
  if (settings.suitecrmTlsInsecure) return { rejectUnauthorized: false };
  if (settings.suitecrmCa !== undefined) {
    return { secureContext: createSecureContext({ ca: [...rootCertificates, settings.suitecrmCa] }) };
  }
  return {};
}

/** What the TLS settings deserve a warning about, for the start-up log and --check-config. */
export function tlsWarnings(settings: UpstreamTlsSettings): TlsWarning[] {
  if (!isHttps(settings)) {
    return settings.suitecrmCa !== undefined || settings.suitecrmTlsInsecure
      ? [{ event: 'tls_settings_ignored', message: 'SUITECRM_CA_FILE and SUITECRM_TLS_INSECURE have no effect: SUITECRM_URL uses http' }]
      : [];
  }
  return settings.suitecrmTlsInsecure
    ? [{
      event: 'tls_verification_disabled',
      message: 'SUITECRM_TLS_INSECURE=true: the proxy does NOT verify SuiteCRM\'s TLS certificate. Anyone on the network path can impersonate SuiteCRM and capture the credentials and tokens. Use SUITECRM_CA_FILE for a private CA instead.',
    }]
    : [];
}

export function logTlsWarnings(settings: UpstreamTlsSettings, logger: Logger): void {
  const log = logger.child({ component: 'tls' });
  for (const warning of tlsWarnings(settings)) log.warn({ event: warning.event }, warning.message);
}
