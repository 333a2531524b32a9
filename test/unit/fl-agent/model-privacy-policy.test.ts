/** What travels (FedPer + FedBN), ArrayRecord ↔ weights checks, clipping and the accountant, site policy, site data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as classifier from '../../../native-models/src/inference/nets/classifier.js';
import { cloneWeights, type NamedWeights } from '../../../native-models/src/core/tensor.js';
import { fromArrays, sharedNames, toArrays, travels, weightsSha256 } from '../../../fl-agent/model/shared-layers.js';
import { addGaussianNoise, clipUpdate, seededUniform, updateNorm, ZcdpAccountant } from '../../../fl-agent/privacy/privacy.js';
import { checkPolicy, DEFAULT_POLICY, inSchedule, mayConnect, mayTakeMessage } from '../../../fl-agent/site/policy.js';
import { fromConfirmedCases, fromYesNoFolder, splitByGroup, type ConfirmedCase } from '../../../fl-agent/site/data.js';
import { encodeNpyF32 } from '../../../fl-agent/protocol/npy.js';
import { FlError } from '../../../fl-agent/protocol/errors.js';

const code = (c: string) => (e: unknown) => e instanceof FlError && e.code === c;
const TINY: classifier.ClassifierConfig = { size: 16, width: 4, groups: 2, classes: 2 };

test('travels: FedPer keeps head.* home; FedBN also keeps gn*/bn* scopes (incl. BatchNorm running stats)', () => {
  assert.equal(travels('body.block1.conv1.weight'), true);
  assert.equal(travels('body.block1.shortcut.bias'), true);
  assert.equal(travels('head.fc.weight'), false);
  for (const n of ['body.stem.gn.weight', 'body.block2.gn1.bias', 'body.block3.gn2.weight', 'body.stem.bn.running_mean', 'body.block1.bn2.running_var', 'body.block1.bn1.weight']) {
    assert.equal(travels(n), false, n);
    assert.equal(travels(n, 'fedper'), true, `${n} travels under FedPer alone`);
  }
  assert.equal(travels('body.gnarly.weight'), true, 'only whole scope names count');
  assert.equal(travels('head.fc.weight', 'none'), true);
  const w = classifier.init(TINY, 0);
  const names = sharedNames(w);
  assert.ok(names.length > 0 && names.length < w.size);
  assert.deepEqual(names, [...w.keys()].filter((k) => k.startsWith('body.') && !/\.gn\d*\./.test(k)));
});

test('fromArrays: round trip, and refusals for extra / missing names, dtype, stype, shape, NaN', () => {
  const w = classifier.init(TINY, 0);
  const names = sharedNames(w);
  const arrays = toArrays(w, names);
  const back = fromArrays(arrays, w, names);
  assert.equal(weightsSha256(back, names), weightsSha256(w, names));
  const n0 = names[0];
  const t0 = w.get(n0)!;
  const mod = (f: (m: Map<string, any>) => void) => {
    const m = new Map(arrays);
    f(m);
    return m;
  };
  assert.throws(() => fromArrays(mod((m) => m.set('head.fc.weight', m.get(n0))), w, names), code('FL_WEIGHTS_MISMATCH'));
  assert.throws(() => fromArrays(mod((m) => m.delete(n0)), w, names), code('FL_WEIGHTS_MISMATCH'));
  assert.throws(() => fromArrays(mod((m) => m.set(n0, { ...m.get(n0), dtype: 'float16' })), w, names), code('FL_WEIGHTS_MISMATCH'));
  assert.throws(() => fromArrays(mod((m) => m.set(n0, { ...m.get(n0), stype: 'torch.Tensor' })), w, names), code('FL_WEIGHTS_MISMATCH'));
  assert.throws(() => fromArrays(mod((m) => m.set(n0, { ...m.get(n0), shape: [t0.data.length] })), w, names), code('FL_WEIGHTS_MISMATCH'));
  // the Array says the right shape, the .npy inside another
  assert.throws(() => fromArrays(mod((m) => m.set(n0, { ...m.get(n0), data: encodeNpyF32([t0.data.length], t0.data) })), w, names), code('FL_WEIGHTS_MISMATCH'));
  const nan = new Float32Array(t0.data);
  nan[0] = NaN;
  assert.throws(() => fromArrays(mod((m) => m.set(n0, { ...m.get(n0), data: encodeNpyF32(t0.shape, nan) })), w, names), code('FL_NONFINITE'));
});

test('clipping follows fixedclipping_mod: update scaled to the norm, sent = received + clipped update', () => {
  const recv: NamedWeights = new Map([['a', { shape: [2], data: Float32Array.from([1, 1]) }], ['b', { shape: [1], data: Float32Array.from([0]) }]]);
  const next: NamedWeights = new Map([['a', { shape: [2], data: Float32Array.from([4, 1]) }], ['b', { shape: [1], data: Float32Array.from([4]) }]]);
  // update (3, 0, 4): norm 5
  const r = clipUpdate(next, recv, ['a', 'b'], 1);
  assert.equal(r.normBefore, 5);
  assert.equal(r.scale, 0.2);
  assert.deepEqual([...next.get('a')!.data], [1 + 0.6, 1].map(Math.fround));
  assert.ok(Math.abs(next.get('b')!.data[0] - 0.8) < 1e-6);
  assert.ok(Math.abs(updateNorm(next, recv, ['a', 'b']) - 1) < 1e-6);
  const small = cloneWeights(recv);
  small.get('b')!.data[0] = 0.5;
  assert.equal(clipUpdate(small, recv, ['a', 'b'], 1).scale, 1, 'within the norm: unchanged');
  assert.throws(() => clipUpdate(next, recv, ['a'], 0), code('FL_BAD_ARGUMENT'));
});

test('noise is Gaussian of the given σ (CSPRNG by default, not reproducible); the zCDP accountant composes and converts to (ε, δ)', () => {
  for (const source of [seededUniform(1), undefined]) {
    const w: NamedWeights = new Map([['a', { shape: [20000], data: new Float32Array(20000) }]]);
    addGaussianNoise(w, ['a'], 0.5, source);
    const d = w.get('a')!.data;
    const mean = d.reduce((s, x) => s + x, 0) / d.length;
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / d.length);
    assert.ok(Math.abs(mean) < 0.02 && Math.abs(sd - 0.5) < 0.02, `mean ${mean} sd ${sd}`);
  }
  const a: NamedWeights = new Map([['a', { shape: [8], data: new Float32Array(8) }]]);
  const b: NamedWeights = new Map([['a', { shape: [8], data: new Float32Array(8) }]]);
  addGaussianNoise(a, ['a'], 1);
  addGaussianNoise(b, ['a'], 1);
  assert.notDeepEqual(a.get('a')!.data, b.get('a')!.data, 'two draws differ');
  const acc = new ZcdpAccountant();
  assert.equal(acc.epsilon(1e-5), 0);
  acc.addGaussian(1); // ρ = 0.5
  acc.addGaussian(1); // ρ = 1
  assert.equal(acc.rho, 1);
  assert.ok(Math.abs(acc.epsilon(1e-5) - (1 + 2 * Math.sqrt(Math.log(1e5)))) < 1e-12);
  const more = new ZcdpAccountant();
  more.addGaussian(2);
  assert.ok(more.epsilon(1e-5) < acc.epsilon(1e-5), 'more noise, less ε');
});

test('site policy: address list fails closed, run ids, schedule windows (over midnight too), pause and opt-out', () => {
  const p = checkPolicy({ ...DEFAULT_POLICY, allowedSuperlinks: ['link.example:9092'], allowedRunIds: ['7'] });
  assert.equal(mayConnect(DEFAULT_POLICY, 'link.example:9092').ok, false);
  assert.equal(mayConnect(p, 'link.example:9092').ok, true);
  assert.equal(mayConnect(p, 'evil.example:9092').ok, false);
  const now = new Date(2026, 11, 7, 23, 30); // Monday 23:30 local
  assert.equal(mayTakeMessage(p, 7n, now).ok, true);
  assert.deepEqual(mayTakeMessage(p, 8n, now), { ok: false, rule: 'run', reason: 'run 8 is not one the site agreed to' });
  assert.equal(mayTakeMessage({ ...p, paused: true }, 7n, now).ok, false);
  assert.equal(mayTakeMessage({ ...p, optedOut: true }, 7n, now).ok, false);
  const nights = [{ start: '22:00', end: '06:00', days: [1, 2, 3, 4, 5] }];
  assert.equal(inSchedule(nights, now), true);
  assert.equal(inSchedule(nights, new Date(2026, 11, 8, 5, 59)), true, 'Tuesday early morning belongs to Monday night');
  assert.equal(inSchedule(nights, new Date(2026, 11, 8, 6, 0)), false);
  assert.equal(inSchedule(nights, new Date(2026, 11, 6, 23, 0)), false, 'Sunday night is not in the window');
  assert.equal(inSchedule([{ start: '09:00', end: '17:00' }], new Date(2026, 11, 6, 12, 0)), true);
  assert.throws(() => checkPolicy({ ...p, schedule: [{ start: '25:00', end: '01:00' }] }), RangeError);
  assert.throws(() => checkPolicy({ ...p, maxThreads: 0 }), RangeError);
  assert.throws(() => checkPolicy({ ...p, allowedSuperlinks: ['no-port'] }), RangeError);
});

test('site data: split by group (never across), confirmed cases only, yes/no folder with near-duplicate groups', async () => {
  const keys = Array.from({ length: 100 }, (_, i) => `g${i % 25}`);
  const s = splitByGroup(keys);
  const tr = new Set([...s.train].map((i) => keys[i])), ho = new Set([...s.heldOut].map((i) => keys[i]));
  assert.ok(ho.size > 0 && tr.size > 0 && [...ho].every((g) => !tr.has(g)));
  assert.equal(s.train.length + s.heldOut.length, 100);
  assert.deepEqual(splitByGroup(keys), s, 'deterministic');
  const two = splitByGroup(['a', 'b']);
  assert.equal(two.train.length, 1);
  assert.equal(two.heldOut.length, 1);

  const px = new Float32Array(16 * 16).fill(0.5);
  const row = (over: Partial<ConfirmedCase>): ConfirmedCase => ({
    caseId: 'c', label: 1, confirmation: 'accepted', confirmedBy: 'dr-a', confirmedAt: '2026-12-01T10:00:00Z', groupKey: 'p1', pixels: px, side: 16, ...over,
  });
  const site = await fromConfirmedCases({
    list: async () => [
      row({ caseId: 'ok1' }), row({ caseId: 'ok2', label: 0, confirmation: 'corrected', groupKey: 'p2' }),
      row({ caseId: 'ai-only', confirmation: 'ai' as never }), row({ caseId: 'nobody', confirmedBy: '' }), row({ caseId: 'small', side: 8, pixels: new Float32Array(64) }),
    ],
  }, 16);
  assert.equal(site.dataset.count, 2);
  assert.deepEqual(site.skipped.map((x) => x.id), ['ai-only', 'nobody', 'small']);

  const dir = await mkdtemp(join(tmpdir(), 'fl-site-'));
  try {
    for (const sub of ['yes', 'no']) await mkdir(join(dir, sub));
    const png = (v: number) => { const p = new PNG({ width: 20, height: 10 }); p.data.fill(v); for (let i = 3; i < p.data.length; i += 4) p.data[i] = 255; return PNG.sync.write(p); };
    await writeFile(join(dir, 'yes', 'y0.png'), png(200));
    await writeFile(join(dir, 'yes', 'y1.png'), png(180));
    await writeFile(join(dir, 'no', 'n0.png'), png(20));
    await writeFile(join(dir, 'no', 'broken.png'), Buffer.from('not an image'));
    await writeFile(join(dir, 'NEAR_DUPLICATES.tsv'), 'path\tgroup\nyes/y0.png\t1\nyes/y1.png\t1\nno/n0.png\t2\nno/broken.png\t3\n');
    const f = await fromYesNoFolder(dir, 16);
    assert.equal(f.dataset.count, 3);
    assert.deepEqual([...f.dataset.labels], [0, 1, 1]);
    assert.equal(f.dataset.groups[1], f.dataset.groups[2], 'y0 and y1 are one group');
    assert.deepEqual(f.skipped.map((x) => x.id), ['no/broken.png']);
    await assert.rejects(fromYesNoFolder(join(dir, 'missing'), 16), code('FL_NO_DATA'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
