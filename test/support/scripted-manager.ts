/**
 * A TokenManager on a fake clock in front of a scripted token endpoint: each token request answers
 * with the next scripted outcome (a token by default), and can be held until released.
 */
import { pino } from 'pino';
import type { GrantRequest, Token } from '../../src/suitecrm-token/grant.js';
import { TokenManager, type TokenManagerOptions } from '../../src/suitecrm-token/token-manager.js';

/** A fake clock and a scripted token endpoint: each call answers with the next scripted outcome. */
export function scriptedManager(overrides: Partial<TokenManagerOptions> = {}, lifetimeMs = 3_600_000) {
  let clock = 1_000_000;
  const calls: GrantRequest[] = [];
  const script: Array<(req: GrantRequest) => Token | Error> = [];
  let issued = 0;
  const issue = (req: GrantRequest): Token => {
    issued += 1;
    const accessToken = `token-${issued}`;
    return {
      accessToken, lifetimeMs, expiresInReported: true, receivedAt: clock, grant: req.grant,
      refreshToken: req.grant === 'client_credentials' ? undefined : `refresh-${issued}`, authorization: `Bearer ${accessToken}`,
    };
  };
  const pending: Array<() => void> = [];
  let gate = false;
  const manager = new TokenManager({
    grantType: 'client_credentials',
    refreshMarginMs: 60_000,
    tokenRetryMaxMs: 30_000,
    credentialsRetryMs: 60_000,
    credentialKey: 'k',
    logger: pino({ level: 'silent' }),
    now: () => clock,
    random: () => 0.5,
    fetchToken: async (req) => {
      calls.push(req);
      if (gate) await new Promise<void>((resolve) => pending.push(resolve));
      const next = script.shift();
      const outcome = next ? next(req) : issue(req);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
    ...overrides,
  });
  return {
    manager, calls, script, issue,
    advance: (ms: number) => { clock += ms; },
    hold: () => { gate = true; },
    release: () => { gate = false; pending.splice(0).forEach((resolve) => resolve()); },
  };
}

