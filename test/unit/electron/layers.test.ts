// Layer lint: where code may run is visible in its path, and imports keep it so (docs/ARCHITECTURE.md, "Rules").
//  - only electron/main and electron/preload import 'electron';
//  - electron/common (platform, runs anywhere) imports nothing outside itself; electron/node (platform, Node)
//    imports no feature and never main/preload;
//  - a feature's shared part (electron/features/<name>/api.ts) imports only electron/common;
//  - renderer/ reaches the rest of the tree only through electron/common and the features' api.ts files;
//  - the product (electron/, renderer/, fl-agent/, native-models core + inference) never imports native-models/src/lab;
//    core imports neither inference nor lab; native-models imports nothing from electron/;
//  - fl-agent imports no feature's services or UI (only the shared contract parts);
//  - the sandboxed preload, once bundled, requires nothing but 'electron'.
// A broken rule fails with "<file> imports <specifier>".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [abs];
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

const isFeatureApi = (spec: string, file: string): boolean =>
  spec.startsWith('.') && /^electron\/features\/([a-z-]+\/)?api\.ts$/.test(path.relative(ROOT, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts'));

test('renderer reaches the rest of the tree only through electron/common and the features\' api.ts', () => {
  assert.deepEqual(
    offenders(['renderer'], (s, f) => s.startsWith('.') && !resolvesInto(s, f, 'renderer') && !resolvesInto(s, f, 'electron/common') && !isFeatureApi(s, f)),
    [],
  );
});

test('electron/node (platform) imports no feature', () => {
  assert.deepEqual(offenders(['electron/node'], (s, f) => resolvesInto(s, f, 'electron/features')), []);
});

test("a feature's shared part (api.ts) imports only electron/common", () => {
  const apis = sources('electron/features').filter((f) => /electron\/features\/[a-z-]+\/api\.ts$/.test(f)).map((f) => path.relative(ROOT, f));
  assert.ok(apis.length >= 4, `expected feature api.ts files, found ${apis.length}`);
  assert.deepEqual(offenders(apis, (s, f) => !s.startsWith('.') || !resolvesInto(s, f, 'electron/common')), []);
});

test('the product never imports native-models/src/lab', () => {
  const product = ['electron', 'renderer', 'fl-agent', 'native-models/src/core', 'native-models/src/inference'];
  const exempt = (f: string) => path.relative(ROOT, f).startsWith('fl-agent/simulate/');
  assert.deepEqual(offenders(product, (s, f) => !exempt(f) && resolvesInto(s, f, 'native-models/src/lab')), []);
});

test('native-models layers: core imports neither inference nor lab; nothing imports electron/', () => {
  assert.deepEqual(offenders(['native-models/src/core'], (s, f) => resolvesInto(s, f, 'native-models/src/inference') || resolvesInto(s, f, 'native-models/src/lab')), []);
  assert.deepEqual(offenders(['native-models'], (s, f) => resolvesInto(s, f, 'electron')), []);
});

test('fl-agent imports no feature service or UI', () => {
  assert.deepEqual(
    offenders(['fl-agent'], (s, f) => resolvesInto(s, f, 'renderer') || resolvesInto(s, f, 'electron/main') || (resolvesInto(s, f, 'electron/features') && !isFeatureApi(s, f))),
    [],
  );
});

test('a broken rule names the file and the import', () => {
  const found = offenders(['electron/common'], (s) => s === './api-error.js');
  assert.ok(found.some((line) => /^electron\/common\/\S+\.ts imports \.\/api-error\.js$/.test(line)), found.join('\n'));
});

test("the bundled sandboxed preload requires only 'electron'", async () => {
  const { PRELOAD_BUNDLE_OPTIONS } = (await import('../../../scripts/bundle-preload.mjs' as string)) as { PRELOAD_BUNDLE_OPTIONS: Record<string, unknown> };
  const out = buildSync({ ...PRELOAD_BUNDLE_OPTIONS, write: false }).outputFiles[0]!.text;
  const required = [...out.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron']);
});
