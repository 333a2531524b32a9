/** Lesion synthesis: painted inside the head only, deterministic, typed refusal of bad options, labels flipped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { synthesiseLesion } from '../../../../native-models/src/lab/data/lesion.js';
import { addLesions, augmentedFactory, RecipeError } from '../../../../native-models/src/lab/recipes/common.js';
import { ImageDataset } from '../../../../native-models/src/core/train/dataset.js';
import { Rng } from '../../../../native-models/src/core/rng.js';

/** A 64×64 "head": a grey disk (0.4) of radius 24 with a darker ring, on black. */
function head(S = 64): Float32Array {
  const img = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    const r = Math.hypot(x - S / 2 + 0.5, y - S / 2 + 0.5);
    img[y * S + x] = r < 22 ? 0.4 : r < 24 ? 0.2 : 0;
  }
  return img;
}

test('synthesiseLesion paints one blob inside the head, stays in [0, 1], and is deterministic per seed', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const a = head(), b = head();
    assert.equal(synthesiseLesion(a, 64, 64, new Rng(seed)), true);
    synthesiseLesion(b, 64, 64, new Rng(seed));
    assert.deepEqual(a, b);
    const orig = head();
    let changed = 0, outside = 0;
    for (let i = 0; i < a.length; i++) {
      assert.ok(a[i] >= 0 && a[i] <= 1);
      const d = Math.abs(a[i] - orig[i]);
      if (d > 0.02) {
        changed++;
        const x = i % 64, y = Math.floor(i / 64);
        if (Math.hypot(x - 31.5, y - 31.5) > 27) outside++; // beyond the head plus the soft edge
      }
    }
    assert.ok(changed >= 12, `seed ${seed}: only ${changed} pixels changed`);
    assert.ok(changed < 0.25 * a.length, `seed ${seed}: ${changed} pixels changed`);
    assert.ok(outside <= 0.1 * changed, `seed ${seed}: ${outside} of ${changed} changed pixels lie outside the head`);
  }
});

test('synthesiseLesion leaves an image without a head untouched and says so', () => {
  const empty = new Float32Array(64 * 64);
  assert.equal(synthesiseLesion(empty, 64, 64, new Rng(1)), false);
  assert.ok(empty.every((v) => v === 0));
});

test('addLesions turns only no-tumour images into tumour examples, at the given rate', () => {
  const n = 40, S = 64;
  const x = { shape: [n, 1, S, S], data: new Float32Array(n * S * S) };
  for (let i = 0; i < n; i++) x.data.set(head(), i * S * S);
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  const before = Float32Array.from(x.data);
  addLesions(x, y, 1, new Rng(5));
  assert.ok(y.every((v) => v === 1));
  for (let i = 1; i < n; i += 2) assert.deepEqual(x.data.subarray(i * S * S, (i + 1) * S * S), before.subarray(i * S * S, (i + 1) * S * S));
  const y0 = Int32Array.from({ length: n }, () => 0), x0 = { shape: x.shape, data: Float32Array.from(before) };
  addLesions(x0, y0, 0, new Rng(5));
  assert.ok(y0.every((v) => v === 0));
  assert.deepEqual(x0.data, before);
});

test('augmentedFactory: lesion synthesis is seeded per (epoch, batch) and replays on resume; a bad rate is a RecipeError', () => {
  const S = 64, n = 16;
  const images = new Float32Array(n * S * S);
  for (let i = 0; i < n; i++) images.set(head(), i * S * S);
  const ds = new ImageDataset('heads', S, images, new Int32Array(n), Int32Array.from({ length: n }, (_, i) => i),
    Array.from({ length: n }, (_, i) => `h${i}`), { source: 'test', groupSource: 'one per image', fingerprint: 'h' });
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const f = augmentedFactory(ds, idx, 4, null, null, 3, { lesionSynthP: 0.5 });
  const collect = (start: number) => [...(f({ epoch: 1, rng: new Rng(9), startBatch: start }) as Iterable<{ x: { data: Float32Array }; y: Int32Array }>)]
    .map((b) => ({ x: Float32Array.from(b.x.data), y: Int32Array.from(b.y) }));
  const full = collect(0);
  assert.deepEqual(collect(2), full.slice(2));
  const flipped = full.reduce((s, b) => s + b.y.reduce((a, v) => a + v, 0), 0);
  assert.ok(flipped > 0 && flipped < n, `${flipped} of ${n} flipped at p = 0.5`);
  assert.throws(() => augmentedFactory(ds, idx, 4, null, null, 3, { lesionSynthP: 1.5 }), (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_BAD_ARGUMENT');
});
