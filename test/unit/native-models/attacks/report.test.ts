/** The robustness report writer: scoring conventions, JSON / markdown / SVG files, worst case and detection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport, summarise, type AdvRecord, type CleanRecord, type Defence, type DefenceEval } from '../../../../native-models/src/lab/bench/robustness-report.js';
import { parseRobustnessArgs as parseArgs, parseEps, selectImages } from '../../../../native-models/src/lab/bench/robustness-bench.js';
import { groupSplit, randomSplit } from '../../../../native-models/src/lab/data/split.js';
import type { ImageDataset } from '../../../../native-models/src/core/train/dataset.js';

const ev = (pred: number, flagged = false): Record<Defence, DefenceEval> => ({
  undefended: { pred }, 'mae-reject': { pred, flagged }, 'purify-all': { pred }, adaptive: { pred, flagged },
});
const clean = (image: number, label: number, pred: number, score: number, flagged = false): CleanRecord => ({
  kind: 'clean', image, path: `p${image}`, label, score, evals: ev(pred, flagged),
  latencyMs: { undefended: 1, 'mae-reject': 2, 'purify-all': 10, adaptive: 3 },
});
const adv = (attack: string, target: AdvRecord['target'], image: number, label: number, e: Record<Defence, DefenceEval>, score: number, eps = 2 / 255): AdvRecord => ({
  kind: 'adv', attack, norm: 'linf', eps, epsLabel: eps === 2 / 255 ? '2/255' : '8/255', target, image, label, score, linf: eps, l2: 0.1, evals: e, attackMs: 5,
});

const records = [
  clean(0, 1, 1, 0.1), clean(1, 0, 0, 0.2), clean(2, 1, 1, 0.3, true), clean(3, 0, 1, 0.15),
  // classifier attack: fools undefended on images 0,1; image 1 flagged
  adv('pgd-linf', 'classifier', 0, 1, { ...ev(0), 'purify-all': { pred: 1 }, adaptive: { pred: 1, flagged: false } }, 0.12),
  adv('pgd-linf', 'classifier', 1, 0, { ...ev(1, true), adaptive: { pred: 0, flagged: true } }, 0.9),
  adv('pgd-linf', 'classifier', 2, 1, ev(1), 0.4),
  adv('pgd-linf', 'classifier', 3, 0, ev(1), 0.5),
  // adaptive attack on the pipeline fools image 0
  adv('eot', 'adaptive', 0, 1, ev(0), 0.11),
  adv('eot', 'adaptive', 1, 0, ev(0, true), 0.8),
];

test('scoring conventions: mae-reject clean needs unflagged+correct; flagged adversarial counts as defended', () => {
  const s = summarise(records, {}, 0.25);
  assert.equal(s.clean.accuracy.undefended, 3 / 4);
  assert.equal(s.clean.accuracy['mae-reject'], 2 / 4); // image 2 flagged, image 3 wrong
  assert.equal(s.clean.flagRate, 1 / 4);
  assert.equal(s.robust['pgd-linf']['2/255'].undefended!.acc, 1 / 4); // only image 2 correct
  assert.equal(s.robust['pgd-linf']['2/255']['mae-reject']!.acc, 2 / 4); // image 1 flagged + image 2 correct
  assert.equal(s.robust['pgd-linf']['2/255'].adaptive!.acc, 3 / 4);
  assert.equal(s.robust.eot['2/255'].undefended, undefined); // adaptive attacks only scored on their target
  // worst case for adaptive: images 0 and 1 have both attacks; image 0 falls to eot → 1 of 2
  assert.deepEqual(s.worst.linf['2/255'].adaptive, { n: 2, robust: 1, acc: 0.5 });
  const det = s.detection.find((d) => d.attack === 'pgd-linf')!;
  assert.equal(det.n, 4);
  assert.equal(det.tprAtCalibrated, 3 / 4); // 0.9, 0.4, 0.5 > 0.25
  assert.ok(det.auroc > 0.5 && det.auroc <= 1);
});

test('writeReport writes JSON, markdown and SVG plots', () => {
  const dir = mkdtempSync(join(tmpdir(), 'robust-report-'));
  try {
    const { files } = writeReport(dir, [...records, adv('pgd-linf', 'classifier', 0, 1, ev(0), 0.3, 8 / 255)], { data: 'unit', split: 'fixture', trained: false, models: 'm' }, 0.25);
    for (const f of ['summary.json', 'REPORT.md', 'roc.svg', 'robust-vs-eps-pgd-linf.svg', 'robust-vs-eps-worst-linf.svg']) {
      assert.ok(files.includes(f) && existsSync(join(dir, f)), `missing ${f}`);
    }
    const md = readFileSync(join(dir, 'REPORT.md'), 'utf8');
    assert.match(md, /\| pgd-linf \| 2\/255 \| 25\.0 \| 50\.0 \|/);
    assert.match(md, /untrained seeded development models/);
    const svg = readFileSync(join(dir, 'roc.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<polyline/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).clean.n, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('command line: ε fractions, defaults, typed errors', () => {
  assert.equal(parseEps('2/255').value, 2 / 255);
  assert.equal(parseEps('0.5').value, 0.5);
  assert.throws(() => parseEps('two'), { code: 'E_BENCH_OPTION' });
  const o = parseArgs(['--data', 'synthetic', '--eps', '1/255,2/255', '--attack', 'pgd-linf,eot']);
  assert.ok(o !== 'help');
  assert.deepEqual(o.eps.map((e) => e.label), ['1/255', '2/255']);
  assert.deepEqual(o.attacks, ['pgd-linf', 'eot']);
  assert.equal(o.split, 'test');
  assert.equal(o.steps, 10);
  assert.equal(o.defences, null);
  const d = parseArgs(['--data', 'x', '--attack', 'eot', '--defence', 'adaptive']);
  assert.ok(d !== 'help');
  assert.deepEqual(d.defences, ['adaptive']);
  assert.throws(() => parseArgs(['--data', 'x', '--defence', 'firewall']), { code: 'E_BENCH_OPTION' });
  assert.throws(() => parseArgs(['--data', 'x', '--attack', 'cw']), { code: 'E_BENCH_OPTION' });
  assert.throws(() => parseArgs(['--data', 'x', '--split', 'val']), { code: 'E_BENCH_OPTION' });
  assert.throws(() => parseArgs(['--eps', '2/255']), { code: 'E_BENCH_OPTION' });
  const leaky = parseArgs(['--data', 'x', '--split', 'random-80-20-test']);
  assert.ok(leaky !== 'help');
  assert.equal(leaky.split, 'random-80-20-test');
});

test('selectImages: group-test by default; the paper\'s random split only as a labelled LEAKY part', () => {
  const labels = Int32Array.from({ length: 200 }, (_, i) => i % 2);
  const groups = Int32Array.from({ length: 200 }, (_, i) => Math.floor(i / 4) * 2 + (i % 2)); // 4-image groups, one label each
  const ds = { count: 200, labels, groups } as unknown as ImageDataset;
  const t = selectImages(ds, 'test', 1000);
  assert.equal(t.splitName, 'group-test');
  assert.deepEqual([...t.indices].sort((a, b) => a - b), [...groupSplit(labels, groups).test]);
  const r = selectImages(ds, 'random-80-20-test', 1000);
  assert.match(r.splitName, /^random-80-20-test \(LEAKY/);
  assert.deepEqual([...r.indices].sort((a, b) => a - b), [...randomSplit(200).test]);
  assert.equal(selectImages(ds, 'random-80-20-test', 7).indices.length, 7);
});
