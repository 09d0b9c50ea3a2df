/**
 * The drill table: one row per fault, as text for the terminal and Markdown + JSON for
 * bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DrillResult } from './drill.js';

export interface TableColumn<T> {
  readonly title: string;
  readonly value: (row: T) => string;
}

/** A Markdown table, padded so it also reads well as plain text. */
export function markdownTable<T>(rows: readonly T[], columns: ReadonlyArray<TableColumn<T>>): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]): string => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

const ms = (value: number): string => (Number.isFinite(value) ? `${(value / 1000).toFixed(2)} s` : 'never');

export const DRILL_COLUMNS: ReadonlyArray<TableColumn<DrillResult>> = [
  { title: 'fault', value: (r) => r.name },
  { title: 'requests', value: (r) => String(r.requests) },
  { title: 'succeeded', value: (r) => String(r.succeeded) },
  {
    title: 'failed with',
    value: (r) => Object.entries(r.failures).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${n} ${code}`).join(', ') || '-',
  },
  { title: 'token requests (bound)', value: (r) => `${r.tokenRequests} (≤ ${r.tokenBound})` },
  { title: 'recovery (bound)', value: (r) => r.note ?? `${ms(r.recoveryMs)} (≤ ${ms(r.recoveryBoundMs)})` },
  { title: 'slowest', value: (r) => ms(r.slowestMs) },
  { title: 'replayed / re-sent / dropped upstream', value: (r) => `${r.replayed} / ${r.resent} / ${r.dropped}` },
  { title: 'verdict', value: (r) => (r.violations.length === 0 ? 'pass' : `FAIL (${r.violations.length})`) },
];

export function writeResults(path: string, markdown: string, json: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.md`, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  writeFileSync(`${path}.json`, `${JSON.stringify(json, null, 2)}\n`);
}
