/** Body digests, to prove a body arrived byte for byte (the SuiteCRM double records the same). */
import { createHash } from 'node:crypto';

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
