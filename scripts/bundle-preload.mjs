#!/usr/bin/env node
// Bundles the sandboxed preload (electron/preload/preload.ts) with the little it imports (the composed contract's
// names, the IPC channel names) into one CommonJS file that requires nothing but 'electron', as Electron's sandbox
// demands. Run by `npm run build:electron` after tsc. Usage: node scripts/bundle-preload.mjs [outfile]
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
export const PRELOAD_BUNDLE_OPTIONS = {
  entryPoints: [`${root}electron/preload/preload.ts`],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'es2022',
  external: ['electron'],
  logLevel: 'warning',
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const outfile = process.argv[2] ?? `${root}dist/electron/preload/preload.cjs`;
  await build({ ...PRELOAD_BUNDLE_OPTIONS, outfile });
  console.log(`preload bundled: ${outfile}`);
}
