/**
 * Secrets as the settings give them: digests are what the proxy keeps of a secret, and a secret
 * read from a file loses the one trailing newline editors and `echo` add.
 */
import { hash } from 'node:crypto';

/** One-shot hashing (Node >= 20.12): every keyed request hashes its key, and a Hash object per call costs about twice as much. */
export function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** A secret file's content: the final newline is not part of the value. */
export function secretFileText(content: string): string {
  return content.replace(/\r?\n$/, '');
}
