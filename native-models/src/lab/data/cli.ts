/**
 * `medfedpure dataset info|split` — inspect a dataset and the splits every report must name.
 *
 *   medfedpure dataset info  --data DIR [--size 64] [--json]
 *   medfedpure dataset split --data DIR [--size 64] [--seed 42] [--json] [--write-parts FILE]
 *   medfedpure dataset info  --synthetic [--size 64] [--json]      (Colin27 + lesion-mask stand-in)
 * Options: --cache-dir DIR (default <repo>/.cache/datasets), --no-cache.
 *
 * `split` prints, for the leakage-free group split and the paper's (leaky) random 80/20 split, the files, classes and
 * groups of every part, and how many test files have a near-duplicate twin in train/val. `--write-parts FILE` also
 * writes the group split's part lists as JSON {"train", "val", "test"} (paths relative to --data), the format the
 * torch reference classifier (shared/reference/torch-classifier) reads.
 */
import { writeFileSync } from 'node:fs';
import { loadYesNoFolder } from './folder.js';
import { loadSynthetic, SYNTHETIC_CAVEAT } from './synthetic.js';
import type { ImageDataset } from '../../core/train/dataset.js';
import { groupSplit, leakage, randomSplit, type DatasetSplit } from './split.js';
import { parseArgs, usage, UsageError, type FlagSpec } from '../../core/cli-args.js';

const SPEC = {
  data: { kind: 'string', value: 'DIR', help: 'Br35H-style yes/no folder' },
  synthetic: { kind: 'boolean', help: 'the Colin27 + lesion-mask stand-in instead of --data' },
  size: { kind: 'string', value: 'N', help: 'image side in pixels (default 64)' },
  seed: { kind: 'string', value: 'N', help: 'split seed (default 42)' },
  'cache-dir': { kind: 'string', value: 'DIR', help: 'decoded-image cache (default <repo>/.cache/datasets)' },
  'no-cache': { kind: 'boolean', help: 'decode every file again' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  'write-parts': { kind: 'string', value: 'FILE', help: 'split: also write the group split\'s part lists as JSON {train, val, test} (paths relative to --data)' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;
const USAGE = usage('medfedpure dataset info|split', SPEC, '(--data DIR | --synthetic)', 'info: counts per class and group. split: the near-duplicate group split and its counts.');

interface Args {
  sub: string;
  data?: string;
  synthetic: boolean;
  size: number;
  seed: number;
  json: boolean;
  writeParts?: string;
  help: boolean;
  cacheDir?: string | null;
}

function parse(argv: string[]): Args {
  const [sub, ...rest] = argv;
  const { flags: f } = parseArgs(rest, SPEC);
  if (sub === '--help' || sub === 'help' || f.help) return { sub: 'help', synthetic: false, size: 64, seed: 42, json: false, help: true };
  if (sub !== 'info' && sub !== 'split') throw new UsageError(`unknown subcommand ${sub ?? '(none)'} (info, split)`);
  const a: Args = {
    sub, data: f.data as string | undefined, synthetic: f.synthetic === true, size: f.size === undefined ? 64 : Number(f.size),
    seed: f.seed === undefined ? 42 : Number(f.seed), json: f.json === true, help: false,
    cacheDir: f['no-cache'] ? null : (f['cache-dir'] as string | undefined), writeParts: f['write-parts'] as string | undefined,
  };
  if (!a.data && !a.synthetic) throw new UsageError('--data DIR or --synthetic is required');
  if (!(Number.isInteger(a.size) && a.size >= 8 && a.size <= 1024)) throw new UsageError('--size must be an integer in [8, 1024]');
  if (!Number.isInteger(a.seed)) throw new UsageError('--seed must be an integer');
  if (a.writeParts && a.sub !== 'split') throw new UsageError('--write-parts belongs to split');
  return a;
}

function partSummary(ds: ImageDataset, idx: Int32Array) {
  const [no, yes] = ds.classCounts(idx);
  return { files: idx.length, yes, no, groups: new Set([...idx].map((i) => ds.groups[i])).size };
}

function splitSummary(ds: ImageDataset, s: DatasetSplit) {
  return {
    name: s.scheme, leaky: s.leaky, label: s.label, seed: s.seed,
    parts: {
      [s.names.train]: partSummary(ds, s.train),
      [s.names.val]: partSummary(ds, s.val),
      [s.names.test]: partSummary(ds, s.test),
    },
    leakage: leakage(s, ds.groups),
  };
}

export async function datasetCommand(argv: string[]): Promise<number> {
  const a = parse(argv);
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  let ds: ImageDataset;
  try {
    ds = a.synthetic
      ? await loadSynthetic({ size: a.size, ...(a.cacheDir !== undefined ? { cacheDir: a.cacheDir } : {}) })
      : await loadYesNoFolder(a.data!, {
        size: a.size,
        ...(a.cacheDir !== undefined ? { cacheDir: a.cacheDir } : {}),
        onProgress: a.json || !process.stderr.isTTY ? undefined : (d, n) => { if (d % 50 === 0 || d === n) process.stderr.write(`\rdecoding ${d}/${n}`); if (d === n) process.stderr.write('\n'); },
      });
  } catch (e) {
    const err = e as Error & { code?: string };
    console.error(`dataset: ${err.code ? `[${err.code}] ` : ''}${err.message}`);
    return 1;
  }
  const [no, yes] = ds.classCounts();
  const info = {
    name: ds.name, source: ds.meta.source, caveat: ds.meta.caveat ?? null, size: ds.size, count: ds.count, yes, no,
    groups: new Set(ds.groups).size, groupSource: ds.meta.groupSource, fingerprint: ds.meta.fingerprint,
    fromCache: ds.meta.fromCache ?? false, skipped: ds.meta.skipped ?? [],
  };
  const group = a.sub === 'split' ? groupSplit(ds.labels, ds.groups, { seed: a.seed }) : null;
  const splits = group ? [splitSummary(ds, group), splitSummary(ds, randomSplit(ds.count, { seed: a.seed }))] : undefined;
  if (group && a.writeParts) {
    const paths = (idx: Int32Array) => [...idx].map((i) => ds.paths[i]);
    writeFileSync(a.writeParts, `${JSON.stringify({ split: group.label, train: paths(group.train), val: paths(group.val), test: paths(group.test) })}\n`);
  }
  if (a.json) {
    console.log(JSON.stringify(splits ? { ...info, splits } : info, null, 2));
    return 0;
  }
  const lines = [
    `dataset ${info.name} (${info.source})${info.caveat ? ` — ${info.caveat}` : ''}`,
    `  ${info.count} images at ${info.size}×${info.size}: yes ${yes}, no ${no}; ${info.groups} groups (${info.groupSource})`,
    `  fingerprint ${info.fingerprint.slice(0, 16)}…${info.fromCache ? ' (from cache)' : ''}`,
  ];
  for (const s of info.skipped) lines.push(`  skipped ${s.path}: ${s.error}`);
  for (const s of splits ?? []) {
    lines.push('', `split ${s.name}${s.leaky ? '  ** LEAKY **' : ''}: ${s.label}`);
    for (const [name, p] of Object.entries(s.parts)) {
      lines.push(`  ${name.padEnd(20)} ${String(p.files).padStart(5)} files  yes ${String(p.yes).padStart(5)}  no ${String(p.no).padStart(5)}  groups ${String(p.groups).padStart(4)}`);
    }
    lines.push(`  test files with a near-duplicate in train/val: ${s.leakage.testFilesWithTwinInTrain} of ${s.leakage.testFiles}`);
  }
  if (info.caveat === SYNTHETIC_CAVEAT) lines.push('', `Numbers on this dataset: ${SYNTHETIC_CAVEAT}.`);
  console.log(lines.join('\n'));
  return 0;
}
