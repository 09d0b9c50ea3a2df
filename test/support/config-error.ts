/**
 * Loads a configuration that must fail, with files served from memory (any other path is
 * ENOENT), and returns the ConfigError. `secrets` must not appear in its message.
 */
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/load.js';

export function configError(env: Record<string, string>, files: Record<string, string> = {}, secrets: readonly string[] = []): ConfigError {
  try {
    loadConfig(env, (path) => {
      if (path in files) return files[path]!;
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    for (const secret of secrets) assert.ok(!err.message.includes(secret), `echoed a secret: ${err.message}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}
