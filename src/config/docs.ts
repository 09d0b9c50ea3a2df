/**
 * Settings documentation generated from SETTINGS: the `--help` text and the README's settings
 * reference. Both come from the schema the loader validates against, so they cannot drift.
 */
import { SETTINGS, type SettingSpec } from './settings.js';

const settings = SETTINGS as readonly SettingSpec[];

/** Groups in reading order; a group not listed here follows in order of first appearance. */
const GROUP_ORDER: readonly string[] = ['SuiteCRM', 'Proxy', 'Tokens', 'Timeouts', 'Logging'];

function groups(): Map<SettingSpec['group'], SettingSpec[]> {
  const byGroup = new Map<SettingSpec['group'], SettingSpec[]>();
  const rank = (spec: SettingSpec): number => {
    const i = GROUP_ORDER.indexOf(spec.group);
    return i === -1 ? GROUP_ORDER.length : i;
  };
  // Array.prototype.sort is stable, so settings keep their schema order inside a group.
  for (const spec of [...settings].sort((a, b) => rank(a) - rank(b))) {
    const list = byGroup.get(spec.group) ?? [];
    list.push(spec);
    byGroup.set(spec.group, list);
  }
  return byGroup;
}

/** What values are accepted, beyond the free-text doc. */
function accepted(spec: SettingSpec): string | undefined {
  if (spec.choices) return `one of ${spec.choices.join(', ')}`;
  if (spec.min !== undefined && spec.max !== undefined) {
    return `${spec.type === 'int' ? 'a whole number' : 'a number'} from ${spec.min} to ${spec.max}`;
  }
  if (spec.type === 'bool') return 'true or false';
  return undefined;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

export interface HelpOptions {
  readonly program: string;
  readonly description: string;
  /** Rows of [flags, explanation]. */
  readonly options: ReadonlyArray<readonly [string, string]>;
  /** Printed after the options. */
  readonly epilog?: string;
}

/** The `--help` text: usage, options, then every setting with its env name, default and doc. */
export function renderHelp({ program, description, options, epilog }: HelpOptions): string {
  const out: string[] = [`Usage: ${program} [options]`, '', ...wrap(description, 96), '', 'Options:'];
  const flagWidth = Math.max(...options.map(([flags]) => flags.length)) + 2;
  for (const [flags, text] of options) {
    const [first = '', ...rest] = wrap(text, 96 - flagWidth - 2);
    out.push(`  ${flags.padEnd(flagWidth)}${first}`, ...rest.map((l) => `  ${' '.repeat(flagWidth)}${l}`));
  }
  if (epilog) out.push('', ...wrap(epilog, 96));
  out.push(
    '',
    'Settings: environment variables, or keys of the config file (environment variables win).',
    'Any setting NAME can instead be read from the file named by NAME_FILE (meant for secrets).',
  );
  for (const [group, specs] of groups()) {
    out.push('', `${group}:`);
    for (const spec of specs) {
      const facts = [spec.default !== undefined ? `default: ${spec.default === '' ? '(empty)' : spec.default}` : 'no default'];
      if (spec.secret) facts.push(`secret, or ${spec.env}_FILE`);
      out.push(`  ${spec.env}  (${facts.join('; ')})`);
      const extra = accepted(spec);
      out.push(...wrap(extra ? `${spec.doc} Accepts ${extra}.` : spec.doc, 88).map((l) => `      ${l}`));
    }
  }
  return `${out.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The README's settings reference: one Markdown table, settings in group order. */
export function renderSettingsMarkdown(): string {
  const out: string[] = ['| Setting | Default | Description |', '|---|---|---|'];
  for (const specs of groups().values()) {
    for (const spec of specs) {
      const choices = spec.choices ? ` One of: ${spec.choices.map((c) => `\`${c}\``).join(', ')}.` : '';
      const range = !spec.choices && spec.min !== undefined && spec.max !== undefined ? ` From ${spec.min} to ${spec.max}.` : '';
      const def = spec.default === undefined ? '—' : spec.default === '' ? '(empty)' : `\`${spec.default}\``;
      out.push(`| \`${spec.env}\`${spec.secret ? ' (secret)' : ''} | ${def} | ${cell(`${spec.doc}${choices}${range}`)} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Values shown uncommented in the example env file: the minimum a first start needs. */
const ENV_EXAMPLE_VALUES: Readonly<Record<string, string>> = {
  SUITECRM_URL: 'https://crm.example.com',
  SUITECRM_CLIENT_ID: '00000000-0000-0000-0000-000000000000',
  SUITECRM_CLIENT_SECRET_FILE: '/run/secrets/suitecrm_client_secret',
};

/** config/example.env: every setting with its doc and default (commented), secrets as NAME_FILE. */
export function renderExampleEnv(): string {
  const out: string[] = [
    '# suitecrm-auth-proxy: every setting with its default. Copy to .env and edit.',
    '# Any setting may instead be read from a file: <NAME>_FILE=/run/secrets/...',
  ];
  for (const specs of groups().values()) {
    for (const spec of specs) {
      const choices = spec.choices ? ` (${spec.choices.join(' | ')})` : '';
      const name = spec.secret ? `${spec.env}_FILE` : spec.env;
      const example = ENV_EXAMPLE_VALUES[name];
      const value = example ?? (spec.secret ? `/run/secrets/${spec.env.toLowerCase()}` : (spec.default ?? ''));
      out.push('', `# ${spec.doc}${choices}`, `${example === undefined ? '# ' : ''}${name}=${value}`);
    }
  }
  return `${out.join('\n')}\n\n`;
}
