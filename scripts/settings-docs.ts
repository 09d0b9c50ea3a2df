/**
 * `npm run docs:settings`: prints the settings reference (Markdown) generated from SETTINGS.
 * `npm run docs:settings -- --write` also rewrites the block between the markers in
 * docs/settings.md and config/example.env. A unit test fails when either is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderExampleEnv, renderSettingsMarkdown } from '../src/config/docs.js';
import { EXAMPLE_ENV_FILE, SETTINGS_DOC_FILE, replaceSettingsBlock } from './settings-docs-files.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const markdown = renderSettingsMarkdown();
if (process.argv.includes('--write')) {
  const doc = `${root}${SETTINGS_DOC_FILE}`;
  writeFileSync(doc, replaceSettingsBlock(readFileSync(doc, 'utf8'), markdown));
  writeFileSync(`${root}${EXAMPLE_ENV_FILE}`, renderExampleEnv());
  process.stdout.write(`updated ${SETTINGS_DOC_FILE} and ${EXAMPLE_ENV_FILE}\n`);
} else {
  process.stdout.write(markdown);
}
