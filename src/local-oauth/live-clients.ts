/**
 * The local token endpoint's clients as a reload can replace them (src/reload/): a caller whose
 * clientSecret changed logs in with the new one from the next token request on.
 */
import { OAuthClientRegistry, type OAuthCaller } from './client-registry.js';

export class LiveClientRegistry extends OAuthClientRegistry {
  private registry: OAuthClientRegistry;

  constructor(callers: readonly OAuthCaller[]) {
    super([]);
    this.registry = new OAuthClientRegistry(callers);
  }

  override get size(): number {
    return this.registry.size;
  }

  override find(clientId: string): OAuthCaller | undefined {
    return this.registry.find(clientId);
  }

  replace(callers: readonly OAuthCaller[]): void {
    this.registry = new OAuthClientRegistry(callers);
  }
}
