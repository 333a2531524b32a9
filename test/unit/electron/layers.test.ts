// Layer lint: where code may run is visible in its path, and imports keep it so.
//  - only electron/main and electron/preload import 'electron';
//  - electron/common imports nothing outside itself; electron/node never imports main/preload;
//  - renderer/ reaches the rest of the tree only through electron/common;
//  - the sandboxed preload, once compiled, requires nothing but 'electron'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) return [];
    const p = path.join(abs, name);
    if (statSync(p).isDirectory()) return sources(path.relative(ROOT, p));
    return /\.(c|m)?(t|j)sx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Module specifiers of static imports/exports, dynamic imports, require() and import-type expressions. */
function importsOf(code: string): string[] {
  const stripped = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (let m = re.exec(stripped); m; m = re.exec(stripped)) out.push(m[1]!);
  return out;
}

const isElectron = (spec: string): boolean => spec === 'electron' || spec.startsWith('electron/');

function offenders(dirs: string[], bad: (spec: string, file: string) => boolean): string[] {
  return dirs.flatMap((d) =>
    sources(d).flatMap((f) => importsOf(readFileSync(f, 'utf8')).filter((s) => bad(s, f)).map((s) => `${path.relative(ROOT, f)} imports ${s}`)),
  );
}

function resolvesInto(spec: string, file: string, dir: string): boolean {
  if (!spec.startsWith('.')) return false;
  const target = path.resolve(path.dirname(file), spec);
  return target === path.join(ROOT, dir) || target.startsWith(path.join(ROOT, dir) + path.sep);
}

test('importsOf finds every import form and ignores comments', () => {
  assert.deepEqual(
    importsOf(`import a from 'x';\nimport type { B } from "y";\nexport * from './z.js';\nimport './side.js';\nconst e = require('electron');\nconst t = await import('w');\ntype T = typeof import('electron');\n// import q from 'commented';\n/* from 'blocked' */`),
    ['x', 'y', './z.js', './side.js', 'electron', 'w', 'electron'],
  );
});

test("no file outside electron/main and electron/preload imports 'electron'", () => {
  assert.deepEqual(offenders(['electron/common', 'electron/node', 'native-models', 'fl-agent', 'renderer', 'bin', 'scripts'], (s) => isElectron(s)), []);
});

test("electron/main and electron/preload are where 'electron' is imported", () => {
  const count = (d: string): number => offenders([d], (s) => isElectron(s)).length;
  assert.ok(count('electron/main') > 0);
  assert.ok(count('electron/preload') > 0);
});

test('electron/common is self-contained; electron/node never reaches into main or preload', () => {
  assert.deepEqual(offenders(['electron/common'], (s, f) => s.startsWith('.') && !resolvesInto(s, f, 'electron/common')), []);
  assert.deepEqual(offenders(['electron/common'], (s) => s.startsWith('node:')), []);
  assert.deepEqual(
    offenders(['electron/node', 'native-models', 'fl-agent'], (s, f) => resolvesInto(s, f, 'electron/main') || resolvesInto(s, f, 'electron/preload')),
    [],
  );
});

test('renderer reaches the rest of the tree only through electron/common', () => {
  assert.deepEqual(
    offenders(['renderer'], (s, f) => s.startsWith('.') && !resolvesInto(s, f, 'renderer') && !resolvesInto(s, f, 'electron/common')),
    [],
  );
});

test("the compiled sandboxed preload requires only 'electron'", () => {
  const file = path.join(ROOT, 'electron/preload/preload.cts');
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: file,
  }).outputText;
  const required = [...out.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
  assert.deepEqual(required, ['electron']);
});
