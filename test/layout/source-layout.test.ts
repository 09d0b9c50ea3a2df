/**
 * The layout rules of src/ (docs: README "Where things are"), checked on the sources so a change
 * that breaks one fails here: no import cycle between files or between folders, and files and
 * functions small enough to read.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SRC = join(ROOT, 'src');
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 60;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({ path, name: relative(SRC, path), text: readFileSync(path, 'utf8') }));

/** Relative imports (static, type-only and dynamic) of one file, as src-relative .ts paths. */
function importsOf(file: { path: string; text: string }): string[] {
  const found: string[] = [];
  for (const match of file.text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
    found.push(relative(SRC, resolve(dirname(file.path), `${match[1]}.ts`)));
  }
  return found;
}

/** Strongly connected components with more than one member (or a self-loop): the cycles. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

/** A file's folder under src/ ("proxy", "suitecrm-token/shared" counts as "suitecrm-token"); a top-level file stands for itself. */
function unitOf(name: string): string {
  const parts = name.split('/');
  return parts.length === 1 ? name : `${parts[0]}/`;
}

test('no import cycle between files of src/', () => {
  const graph = new Map(files.map((file) => [file.name, new Set(importsOf(file))]));
  assert.deepEqual(cycles(graph), []);
});

test('no import cycle between the folders of src/ (a top-level file counts as its own unit)', () => {
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const from = unitOf(file.name);
    const targets = graph.get(from) ?? new Set<string>();
    for (const target of importsOf(file)) if (unitOf(target) !== from) targets.add(unitOf(target));
    graph.set(from, targets);
  }
  assert.deepEqual(cycles(graph), []);
});

test(`no file of src/ over ${MAX_FILE_LINES} lines`, () => {
  const long = files.map((file) => ({ file: file.name, lines: file.text.split('\n').length })).filter((f) => f.lines > MAX_FILE_LINES);
  assert.deepEqual(long, []);
});

test(`no function of src/ over ${MAX_FUNCTION_LINES} lines`, () => {
  const long: string[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file.name, file.text, ts.ScriptTarget.ES2022, true);
    const walk = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (end - start + 1 > MAX_FUNCTION_LINES) {
          const name = (node as ts.FunctionLikeDeclaration).name?.getText(source) ?? '(anonymous)';
          long.push(`${file.name}:${start + 1} ${name} (${end - start + 1} lines)`);
        }
      }
      ts.forEachChild(node, walk);
    };
    walk(source);
  }
  assert.deepEqual(long, []);
});
