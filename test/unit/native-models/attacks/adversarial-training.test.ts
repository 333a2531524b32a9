import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as classifier from '../../../../native-models/src/inference/nets/classifier.js';
import { oneHot } from '../../../../native-models/src/inference/nets/common.js';
import { AdversarialBatchMaker } from '../../../../native-models/src/lab/recipes/adversarial.js';
import { Rng } from '../../../../native-models/src/core/rng.js';
import { C_CFG } from '../pipeline/fixtures.js';

test('AdversarialBatchMaker: replaces the first ⌈f·n⌉ images by in-ball, in-box PGD examples that raise the loss; seeded', async () => {
  const w = classifier.init(C_CFG, 3);
  const n = 6, ss = C_CFG.size * C_CFG.size;
  const r = new Rng(9);
  const x = { shape: [n, 1, C_CFG.size, C_CFG.size], data: Float32Array.from({ length: n * ss }, (_, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? 1 : r.next())) };
  const y = Int32Array.from([0, 1, 1, 0, 1, 0]);
  const eps255 = 4, eps = eps255 / 255;
  const maker = new AdversarialBatchMaker(C_CFG, { eps255, steps: 5, fraction: 0.5 }, 1);
  const grad = classifier.makeInputGradient(C_CFG, { threads: 1 });
  try {
    const a = await maker.make(w, x, y, 42);
    const m = 3;
    for (let i = 0; i < n * ss; i++) {
      const d = Math.abs(a.data[i] - x.data[i]);
      if (i >= m * ss) assert.equal(a.data[i], x.data[i], 'images after the first ⌈f·n⌉ are untouched');
      else assert.ok(d <= eps && a.data[i] >= 0 && a.data[i] <= 1, `pixel ${i}: |δ| ${d} > ε or out of [0, 1]`);
    }
    const part = (t: Float32Array) => ({ shape: [m, 1, C_CFG.size, C_CFG.size], data: t.slice(0, m * ss) });
    const target = oneHot(y.subarray(0, m), 2);
    const lossClean = (await grad(w, part(x.data), target)).loss;
    const lossAdv = (await grad(w, part(a.data), target)).loss;
    assert.ok(lossAdv > lossClean, `adversarial loss ${lossAdv} should exceed clean ${lossClean}`);
    assert.deepEqual([...(await maker.make(w, x, y, 42)).data], [...a.data], 'same seed, same examples');
    assert.notDeepEqual([...(await maker.make(w, x, y, 43)).data], [...a.data]);
    assert.throws(() => new AdversarialBatchMaker(C_CFG, { eps255: 0, steps: 1, fraction: 1 }, 1), RangeError);
  } finally {
    await maker.release();
    await grad.release();
  }
});
