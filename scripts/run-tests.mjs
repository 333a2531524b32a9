#!/usr/bin/env node
// Runs every test/**/*.test.ts file with Node's own test runner (tsx compiles TypeScript on load).
// Usage: node scripts/run-tests.mjs [unit|integration|e2e|all] [extra node --test args]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const suite = process.argv[2] && !process.argv[2].startsWith('-') ? process.argv[2] : 'all';
const extra = process.argv.slice(suite === process.argv[2] ? 3 : 2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}
const dirs = suite === 'all' ? ['unit', 'integration', 'e2e'] : [suite];
const files = dirs.flatMap((d) => { try { return walk(join(root, 'test', d)); } catch { return []; } }).sort();
if (files.length === 0) { console.error(`no test files for suite "${suite}"`); process.exit(1); }
console.log(`running ${files.length} test files (${suite})`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...extra, ...files.map((f) => relative(root, f))], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
