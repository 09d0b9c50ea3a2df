/** A session record as the Redis scripts take it (8 fields) and give it back (a flat hash). */
import type { SessionFields } from './redis-commands.js';
import type { SessionRecord } from './session-book.js';

export function sessionFields(session: SessionRecord): SessionFields {
  return [
    session.accessDigest, session.id, session.caller, String(session.issuedAt), String(session.accessExpiresAt), String(session.forgetAt),
    session.refreshDigest ?? '', session.refreshExpiresAt === undefined ? '' : String(session.refreshExpiresAt),
  ];
}

/** The record of HGETALL's flat list; undefined when a field is missing (not written by these scripts). */
export function sessionFromHash(accessDigest: string, flat: readonly string[]): SessionRecord | undefined {
  const hash = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) hash.set(flat[i] as string, flat[i + 1] as string);
  const id = hash.get('id');
  const caller = hash.get('caller');
  const issuedAt = Number(hash.get('issued'));
  const accessExpiresAt = Number(hash.get('aexp'));
  const forgetAt = Number(hash.get('forget'));
  if (id === undefined || caller === undefined || ![issuedAt, accessExpiresAt, forgetAt].every(Number.isFinite)) return undefined;
  const refreshDigest = hash.get('rdig');
  const refreshExpiresAt = Number(hash.get('rexp'));
  return {
    id, caller, issuedAt, accessDigest, accessExpiresAt, forgetAt,
    ...(refreshDigest === undefined || !Number.isFinite(refreshExpiresAt) ? {} : { refreshDigest, refreshExpiresAt }),
  };
}
