/**
 * The tokens of every configured SuiteCRM credential in a process that owns them (a single
 * process, or the PROXY_WORKERS primary): one CredentialSwitch per credential name. A reload
 * prepares each credential on its own (new secrets, a new identity warmed first, a credential
 * added and given its first token) and commits them together or not at all; a removed
 * credential is closed once nothing new can reach it.
 */
import { credentialConfig, type Config } from '../config/load.js';
import type { TokenSources } from '../suitecrm-token/token.js';
import { CredentialSwitch, warmOrFail, type ManagerBuilder } from './credential-switch.js';
import type { ConfigDiff } from './diff.js';
import { prepareAll, ReloadApplyError, type PreparedChange, type ReloadTarget } from './target.js';

export class CredentialSet implements TokenSources, ReloadTarget {
  private switches: ReadonlyMap<string, CredentialSwitch>;
  private reread: (() => Promise<void>) | undefined;

  constructor(config: Config, private readonly build: ManagerBuilder) {
    this.switches = new Map(config.credentials.map((c) => [c.name, new CredentialSwitch(credentialConfig(config, c), build)]));
  }

  source(credential: string): CredentialSwitch | undefined {
    return this.switches.get(credential);
  }

  names(): readonly string[] {
    return [...this.switches.keys()];
  }

  /** How a rejection re-reads the secret files; the reloader installs it. */
  onRejectedReread(reread: () => Promise<void>): void {
    this.reread = reread;
    for (const credential of this.switches.values()) credential.onRejectedReread(reread);
  }

  /** An operator's SIGHUP: every credential paused after a failure is retried once, at once. */
  retryPaused(): void {
    for (const credential of this.switches.values()) credential.retryNow();
  }

  async prepare(next: Config, diff: ConfigDiff): Promise<PreparedChange> {
    const switches = new Map<string, CredentialSwitch>();
    const targets: ReloadTarget[] = [];
    for (const credential of next.credentials) {
      const view = credentialConfig(next, credential);
      const running = this.switches.get(credential.name);
      const change = diff.credentials[credential.name];
      if (running !== undefined) {
        switches.set(credential.name, running);
        // Also when the credential is unchanged: its manager reads the shared retry and refresh settings from its view.
        targets.push({ prepare: () => running.prepare(view, change) });
        continue;
      }
      const added = new CredentialSwitch(view, this.build);
      switches.set(credential.name, added);
      targets.push({ prepare: () => warm(added, credential.name) });
    }
    const prepared = await prepareAll(targets, next, diff);
    const removed = [...this.switches].filter(([name]) => !switches.has(name)).map(([, credential]) => credential);
    return {
      commit: () => {
        prepared.commit();
        this.switches = switches;
        if (this.reread !== undefined) this.onRejectedReread(this.reread);
        // Requests that already hold a removed credential's token finish with it.
        for (const credential of removed) void credential.close();
      },
      abort: () => prepared.abort(),
    };
  }

  close(): Promise<void> {
    return Promise.all([...this.switches.values()].map((credential) => credential.close())).then(() => undefined);
  }
}

/** A credential added by a reload gets its first token before any caller is sent its way. */
async function warm(added: CredentialSwitch, name: string): Promise<PreparedChange> {
  await warmOrFail(added, (code) =>
    new ReloadApplyError('SUITECRM_CREDENTIALS', `the new SuiteCRM credential ${JSON.stringify(name)} obtained no token (${code}); the running credentials stay as they are`));
  return { commit: () => undefined, abort: () => added.close() };
}
