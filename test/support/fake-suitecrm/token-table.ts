/**
 * The `oauth2tokens` table: one row per issued access token, holding its refresh
 * token too. Revocation is a soft delete; rows are never purged (like SuiteCRM).
 */

export interface TokenRow {
  /** `access_token` column = the JWT `jti`. */
  accessTokenId: string;
  accessExpiresAtMs: number;
  clientId: string;
  /** `assigned_user_id`: the token's user. */
  userId: string;
  grant: string;
  refreshTokenId?: string;
  refreshExpiresAtMs?: number;
  /** `deleted = 1`: logout, refresh rotation, DB wipe. */
  deleted: boolean;
  /** `token_is_revoked = 1`: admin mass update. Refresh tokens ignore it. */
  revoked: boolean;
}

export class TokenTable {
  readonly #byAccess = new Map<string, TokenRow>();
  readonly #byRefresh = new Map<string, TokenRow>();

  insert(row: TokenRow): void {
    this.#byAccess.set(row.accessTokenId, row);
    if (row.refreshTokenId !== undefined) this.#byRefresh.set(row.refreshTokenId, row);
  }

  findByAccessId(id: string): TokenRow | undefined {
    return this.#byAccess.get(id);
  }

  /** `AccessTokenRepository::isAccessTokenRevoked`. */
  isAccessTokenRevoked(id: unknown, nowMs: number): boolean {
    const row = typeof id === 'string' ? this.#byAccess.get(id) : undefined;
    return row === undefined || row.deleted || row.revoked || nowMs > row.accessExpiresAtMs;
  }

  /** `RefreshTokenRepository::isRefreshTokenRevoked`: no live row, or its refresh expiry passed. */
  isRefreshTokenRevoked(id: string, nowMs: number): boolean {
    const row = this.#byRefresh.get(id);
    return row === undefined || row.deleted || nowMs > (row.refreshExpiresAtMs ?? 0);
  }

  softDelete(accessTokenId: string): void {
    const row = this.#byAccess.get(accessTokenId);
    if (row !== undefined) row.deleted = true;
  }

  markRevoked(accessTokenId: string): void {
    const row = this.#byAccess.get(accessTokenId);
    if (row !== undefined) row.revoked = true;
  }

  softDeleteAll(): void {
    for (const row of this.#byAccess.values()) row.deleted = true;
  }
}
