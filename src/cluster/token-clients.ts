/**
 * A PROXY_WORKERS worker's tokens of every SuiteCRM credential: one ClusterTokenClient per
 * credential name, all over the worker's one IPC channel. Outgoing messages are tagged with the
 * credential; incoming ones are handed only to the client of the credential they name.
 */
import type { TokenSources } from '../suitecrm-token/token.js';
import { taggedCredential, isMessage, type PrimaryMessage, type Tagged, type WorkerMessage } from './messages.js';
import { ClusterTokenClient, type IpcChannel } from './token-client.js';

export interface WorkerChannel {
  send(message: Tagged<WorkerMessage>): void;
  onMessage(listener: (message: unknown) => void): void;
}

export class ClusterTokenClients implements TokenSources {
  private readonly clients = new Map<string, ClusterTokenClient>();
  private readonly listeners = new Map<string, (message: unknown) => void>();
  private configured: readonly string[];

  constructor(
    private readonly channel: WorkerChannel,
    names: readonly string[],
    private readonly answerTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.configured = names;
    channel.onMessage((message) => {
      if (!isMessage<PrimaryMessage>(message)) return;
      const credential = taggedCredential(message);
      if (credential !== undefined) this.listeners.get(credential)?.(message);
    });
  }

  source(credential: string): ClusterTokenClient | undefined {
    if (!this.configured.includes(credential)) return undefined;
    let client = this.clients.get(credential);
    if (client === undefined) {
      const channel: IpcChannel = {
        send: (message) => this.channel.send({ ...message, credential }),
        onMessage: (listener) => { this.listeners.set(credential, listener); },
      };
      client = new ClusterTokenClient(channel, this.answerTimeoutMs, this.now);
      this.clients.set(credential, client);
    }
    return client;
  }

  names(): readonly string[] {
    return this.configured;
  }

  /**
   * A reload the worker applied: the credentials it now has (a removed one's copy is dropped). A
   * dropped client keeps hearing the primary, so a request that held it across the reload gets
   * the answer to its question (the primary says the credential is gone) instead of the answer timeout.
   */
  follow(names: readonly string[]): void {
    this.configured = names;
    for (const name of [...this.clients.keys()]) if (!names.includes(name)) this.clients.delete(name);
  }
}
