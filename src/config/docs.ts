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
}

/** The `--help` text: usage, options, then every setting with its env name, default and doc. */
export function renderHelp({ program, description, options }: HelpOptions): string {
  const out: string[] = [`Usage: ${program} [options]`, '', ...wrap(description, 96), '', 'Options:'];
  const flagWidth = Math.max(...options.map(([flags]) => flags.length)) + 2;
  for (const [flags, text] of options) {
    const [first = '', ...rest] = wrap(text, 96 - flagWidth - 2);
    out.push(`  ${flags.padEnd(flagWidth)}${first}`, ...rest.map((l) => `  ${' '.repeat(flagWidth)}${l}`));
  }
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

/** The README's settings reference: one Markdown table per group. */
export function renderSettingsMarkdown(): string {
  const out: string[] = [];
  for (const [group, specs] of groups()) {
    out.push(`#### ${group}`, '', '| Setting | Default | Description |', '| --- | --- | --- |');
    for (const spec of specs) {
      const extra = accepted(spec);
      const notes = [spec.doc, extra ? `Accepts ${extra}.` : '', spec.secret ? `Secret: never logged; may be read from \`${spec.env}_FILE\`.` : '']
        .filter((s) => s !== '')
        .join(' ');
      const def = spec.default === undefined ? '—' : spec.default === '' ? '(empty)' : `\`${spec.default}\``;
      out.push(`| \`${spec.env}\` | ${def} | ${cell(notes)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Every setting with its default as a YAML config file (settings without a default commented out). */
export function renderDefaultsYaml(): string {
  const out: string[] = [
    '# Every suitecrm-auth-proxy setting with its default, generated from the schema',
    '# (npm run docs:settings -- --write); do not edit. Copy what you need into your own config',
    '# file: see suitecrm-auth-proxy.example.yaml. Settings without a default are commented out.',
  ];
  for (const [group, specs] of groups()) {
    out.push('', `# ${'-'.repeat(4)} ${group} ${'-'.repeat(Math.max(4, 86 - group.length))}`);
    for (const spec of specs) {
      const extra = accepted(spec);
      out.push('', ...wrap(extra ? `${spec.doc} Accepts ${extra}.` : spec.doc, 92).map((l) => `# ${l}`));
      if (spec.secret) out.push(`# Secret: better set ${spec.env}_FILE to a file that holds it.`);
      out.push(spec.default === undefined ? `# ${spec.env}:` : `${spec.env}: ${JSON.stringify(spec.default)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
