/**
 * The one place that builds connections to SuiteCRM: the API pool the proxy forwards on, the
 * small pool for token requests, and the one-off connection of a stale-socket retry. Each gets
 * the connect timeout and the TLS options (tls.ts) of the configuration.
 */
import { Client, Pool } from 'undici';
import type { Config } from '../config/load.js';
import { upstreamTlsOptions } from './tls.js';

type UpstreamSettings = Pick<Config, 'suitecrmUrl' | 'suitecrmCa' | 'suitecrmTlsInsecure' | 'upstreamConnectTimeoutMs' | 'upstreamConnections'>;

/** Token requests get a pool of their own so they never queue behind slow API calls. */
const TOKEN_POOL_CONNECTIONS = 2;

function connectOptions(config: UpstreamSettings) {
  return { timeout: config.upstreamConnectTimeoutMs, ...upstreamTlsOptions(config) };
}

export interface UpstreamConnections {
  /** The pool every forwarded request uses. */
  readonly api: Pool;
  /** A new connection of its own, for one retry after a stale pooled socket. */
  fresh(): Client;
}

export function upstreamConnections(config: UpstreamSettings): UpstreamConnections {
  const connect = connectOptions(config);
  const origin = config.suitecrmUrl.origin;
  return {
    // Idle sockets are dropped after 4 s (SuiteCRM's Apache usually keeps them 5 s), so a request
    // rarely meets a socket the server has just closed.
    api: new Pool(origin, { connections: config.upstreamConnections, connect, keepAliveTimeout: 4_000, keepAliveTimeoutThreshold: 1_000 }),
    fresh: () => new Client(origin, { connect }),
  };
}

export function tokenPool(config: UpstreamSettings): Pool {
  return new Pool(config.suitecrmUrl.origin, { connections: TOKEN_POOL_CONNECTIONS, connect: connectOptions(config) });
}
