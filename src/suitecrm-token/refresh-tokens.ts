/**
 * The refresh token of a password or refresh_token credential. SuiteCRM rotates refresh tokens:
 * each refresh grant answers with a new one and revokes the old, so the newest must always be
 * kept. With a shared token store the fleet's newest is the store's; ours is kept as a spare
 * only when the store never saw it (we renewed alone during a store outage).
 */
export class RefreshTokens {
  private current: string | undefined;
  /** False while `current` came from a renewal the shared store never saw. */
  private shared = false;
  /** A second refresh token to try in this renewal, after `current` was rejected. */
  private spare: string | undefined;

  constructor(initial: string | undefined) {
    this.current = initial;
  }

  /** The refresh token to try next; undefined: use the configured grant. */
  get next(): string | undefined {
    return this.current;
  }

  /** Start of a renewal: the store's newest refresh token (if any) goes first. */
  startRenewal(newestInStore: string | undefined): void {
    this.spare = undefined;
    if (newestInStore !== undefined && newestInStore !== this.current) {
      if (!this.shared) this.spare = this.current;
      this.current = newestInStore;
    }
  }

  /** SuiteCRM rejected `next`: fall back to the spare, if there is one. */
  rejected(): void {
    this.current = this.spare;
    this.spare = undefined;
  }

  /** A token came back; keep its refresh token, the old one only if none came back. */
  received(refreshToken: string | undefined, sharedThroughStore: boolean): void {
    if (refreshToken === undefined) return;
    this.current = refreshToken;
    this.shared = sharedThroughStore;
  }
}
