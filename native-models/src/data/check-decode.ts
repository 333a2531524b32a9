/**
 * Decode every JPEG/PNG under a folder (recursively) with the project's decoder and report failures and format
 * facts (sniffed PNG-named-.jpg files, sizes, timing). Used to check that jpeg-js/pngjs cope with all of Br35H.
 *
 *   node --import tsx native-models/src/data/check-decode.ts /work/shared/datasets/br35h
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { decodeImage } from './decode.js';

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (/\.(jpe?g|png)$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

const root = process.argv[2];
if (!root) {
  console.error('usage: check-decode.ts DIR');
  process.exit(2);
}
const files = await walk(root);
const failures: string[] = [];
const pngNamedJpg: string[] = [];
let jpeg = 0, png = 0, maxSide = 0;
const t0 = performance.now();
for (const f of files) {
  const rel = relative(root, f);
  try {
    const img = decodeImage(await readFile(f), rel);
    if (img.format === 'png') png++; else jpeg++;
    if (img.format === 'png' && /\.jpe?g$/i.test(f)) pngNamedJpg.push(rel);
    maxSide = Math.max(maxSide, img.width, img.height);
    let lo = Infinity, hi = -Infinity;
    for (const v of img.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (!(lo >= 0 && hi <= 1)) failures.push(`${rel}: values outside [0,1] (${lo}..${hi})`);
  } catch (e) {
    failures.push(`${rel}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ root, files: files.length, jpeg, png, pngNamedJpg, maxSide, failures, seconds: +secs.toFixed(1) }, null, 2));
process.exitCode = failures.length ? 1 : 0;
