/**
 * `medfedpure bench trust` — how often clean images are called "unlike the training data", flagged, and alerted on,
 * under the shipped calibration: the out-of-distribution (OOD) cut's check on data it was not set on.
 *
 *   medfedpure bench trust (--data DIR | --synthetic) [--split test|all] [--limit N] [--json]
 *
 * Runs the adaptive pipeline (DefencePipeline.scan, the shipped calibration) on the images of the split and counts,
 * per true class: called tumour; flagged (score over the flag threshold: before the OOD cut, every flag was a
 * security alert); OOD (MAE image-level error over the cut, pipeline.ts oodCutOf); and alerts as the scan service
 * now raises them (flagged and not OOD, electron/features/scan/trust.ts). Rates carry a 95 % interval resampling
 * whole near-duplicate groups. Image files carry no DICOM header, so the intended-use gate does not apply here.
 */
import { loadModelBundle } from '../../inference/pipeline/models.js';
import { DefencePipeline, oodCutOf } from '../../inference/pipeline/pipeline.js';
import { readCalibration } from '../../inference/pipeline/calibrate.js';
import { loadYesNoFolder } from '../data/folder.js';
import { loadSynthetic, SYNTHETIC_CAVEAT } from '../data/synthetic.js';
import { parseArgs, usage, UsageError, type FlagSpec } from '../../core/cli-args.js';
import { groupBootstrapCI } from './group-bootstrap.js';
import { selectImages } from './robustness-bench.js';

const SPEC = {
  data: { kind: 'string', value: 'DIR', help: 'Br35H-style yes/no folder' },
  synthetic: { kind: 'boolean', help: 'the Colin27 + lesion-mask stand-in instead of --data' },
  split: { kind: 'string', value: 'test|all', help: 'group-split test part (default) or every image' },
  limit: { kind: 'string', value: 'N', help: 'only the first N images of the split (seeded order)' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;
const USAGE = usage('medfedpure bench trust', SPEC, '(--data DIR | --synthetic)', 'Clean images called tumour, flagged, out of distribution and alerted on, under the shipped calibration.');

const COUNTS = ['tumourCalls', 'flagged', 'ood', 'alerts'] as const;
type Count = (typeof COUNTS)[number];

export async function benchTrustCommand(argv: string[]): Promise<number> {
  const { flags: a } = parseArgs(argv, SPEC);
  if (a.help) { console.log(USAGE); return 0; }
  if (!a.synthetic && typeof a.data !== 'string') throw new UsageError('--data DIR or --synthetic is required');
  const split = (a.split as string | undefined) ?? 'test';
  if (split !== 'test' && split !== 'all') throw new UsageError('--split must be test or all');
  const limit = a.limit === undefined ? 1e9 : Number(a.limit);
  if (!(Number.isInteger(limit) && limit >= 1)) throw new UsageError('--limit must be a positive integer');
  const log = (s: string) => (a.json ? process.stderr : process.stdout).write(`${s}\n`);

  const models = await loadModelBundle();
  const calibration = await readCalibration(models);
  if (!calibration) throw new UsageError('no detector calibration for these models: run medfedpure calibrate first');
  const pipeline = await DefencePipeline.create({ models, calibration, ep: 'cpu', threads: 1 });
  const S = pipeline.size, ss = S * S;
  const ds = a.synthetic ? await loadSynthetic({ size: S }) : await loadYesNoFolder(String(a.data), { size: S });
  const { indices, splitName } = selectImages(ds, split, limit);
  const sub = ds.subset(indices);
  const cut = oodCutOf(calibration);
  const per: Record<Count, Float64Array> = Object.fromEntries(COUNTS.map((c) => [c, new Float64Array(sub.count)])) as Record<Count, Float64Array>;
  for (let lo = 0; lo < sub.count; lo += 32) {
    const hi = Math.min(sub.count, lo + 32);
    const imgs = Array.from({ length: hi - lo }, (_, k) => ({ width: S, height: S, pixels: sub.images.slice((lo + k) * ss, (lo + k + 1) * ss) }));
    const res = await pipeline.scan(imgs, { mode: 'adaptive' });
    res.forEach((r, k) => {
      const i = lo + k, ood = r.scores!.mse > cut.threshold;
      per.tumourCalls[i] = r.label === 'tumour' ? 1 : 0;
      per.flagged[i] = r.flagged ? 1 : 0;
      per.ood[i] = ood ? 1 : 0;
      per.alerts[i] = r.flagged && !ood ? 1 : 0;
    });
  }
  await pipeline.release();

  const classes = [{ name: 'no tumour', label: 0 }, { name: 'tumour', label: 1 }, { name: 'all', label: -1 }];
  const rows = classes.map(({ name, label }) => {
    const idx = [...Array(sub.count).keys()].filter((i) => label < 0 || sub.labels[i] === label);
    const groups = idx.map((i) => sub.groups[i]);
    const stat = Object.fromEntries(COUNTS.map((c) => {
      const v = idx.map((i) => per[c][i]);
      const n = v.reduce((s, x) => s + x, 0);
      const ci = idx.length > 0 ? groupBootstrapCI(v, groups) : null;
      return [c, { n, rate: idx.length ? n / idx.length : 0, ci: ci ? [ci.lo, ci.hi] : null }];
    }));
    return { class: name, images: idx.length, ...stat } as { class: string; images: number } & Record<Count, { n: number; rate: number; ci: number[] | null }>;
  });
  const report = {
    data: ds.meta.source + (a.synthetic ? ` (${SYNTHETIC_CAVEAT})` : ''), split: splitName, images: sub.count,
    oodCut: cut, flagThreshold: calibration.scores[calibration.scoreKind].threshold, rows,
  };
  if (a.json) console.log(JSON.stringify(report));
  else {
    const pct = (x: { n: number; rate: number; ci: number[] | null }) => `${x.n} (${(100 * x.rate).toFixed(1)} %${x.ci ? `, ${(100 * x.ci[0]).toFixed(1)}–${(100 * x.ci[1]).toFixed(1)}` : ''})`;
    log(`${report.data}, ${splitName}: ${sub.count} images; flag threshold ${report.flagThreshold.toExponential(3)}, OOD cut ${cut.threshold.toExponential(3)} (${cut.rule}, ${(100 * cut.fpr).toFixed(1)} % of clean calibration images)`);
    log('| true class | images | called tumour | flagged (= alerts before the OOD cut) | unlike the training data | alerts now |');
    log('|---|---|---|---|---|---|');
    for (const r of rows) log(`| ${r.class} | ${r.images} | ${pct(r.tumourCalls)} | ${pct(r.flagged)} | ${pct(r.ood)} | ${pct(r.alerts)} |`);
  }
  return 0;
}
