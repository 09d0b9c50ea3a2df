/**
 * Secrets as the settings give them: digests are what the proxy keeps of a secret, and a secret
 * read from a file loses the one trailing newline editors and `echo` add.
 */
import { createHash } from 'node:crypto';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A secret file's content: the final newline is not part of the value. */
export function secretFileText(content: string): string {
  return content.replace(/\r?\n$/, '');
}
