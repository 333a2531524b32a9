/**
 * Sanity check of PGD figures for a classifier artifact (not part of the product): the input gradient against
 * central differences at the real weights, the share of exactly-zero gradients, logit margins, and undefended
 * PGD-ℓ∞ accuracy against ε on 96 group-test images (gradient masking would show as a flat curve).
 *   npx tsx native-models/src/lab/bench/pgd-sanity.ts <folder with manifest.json + classifier.weights>
 */
import { loadYesNoFolder } from '../../lab/data/folder.js';
import { groupSplit } from '../../lab/data/split.js';
import { loadWeights } from '../../core/weights-io.js';
import * as C from '../../inference/nets/classifier.js';
import { oneHot } from '../../inference/nets/common.js';
import { pgd } from '../../lab/attacks/pgd.js';
const dir = process.argv[2];
const cfg = JSON.parse((await import('node:fs')).readFileSync(`${dir}/manifest.json`, 'utf8')).models.classifier.config as C.ClassifierConfig;
const w = (await loadWeights(`${dir}/classifier.weights`)).weights;
const ds = await loadYesNoFolder('/work/shared/datasets/br35h', { size: 64 });
const split = groupSplit(ds.labels, ds.groups, { seed: 42 });
const n = 96, S = 64, ss = S * S;
const idx = [...split.test].filter((_, k) => k % 4 === 0).slice(0, n);
const x = new Float32Array(n * ss); const y = new Int32Array(n);
idx.forEach((i, k) => { x.set(ds.images.subarray(i * ss, (i + 1) * ss), k * ss); y[k] = ds.labels[i]; });
const grad = C.makeInputGradient(cfg, { threads: 1 });
const lossGrad = async (v: Float32Array, lab: Int32Array) => {
  const m = lab.length; const t = oneHot(lab, 2);
  const r = await grad(w, { shape: [m, 1, S, S], data: v }, t);
  const loss = new Float64Array(m);
  for (let i = 0; i < m; i++) { const a = r.logits.data[2 * i], b = r.logits.data[2 * i + 1]; const mx = Math.max(a, b); const lse = mx + Math.log(Math.exp(a - mx) + Math.exp(b - mx)); loss[i] = lse - (lab[i] ? b : a); }
  return { loss, grad: r.grad.data.map((g) => g * m), logits: r.logits.data };
};
const acc = async (v: Float32Array) => { const r = await lossGrad(v, y); let c = 0; for (let i = 0; i < n; i++) if ((r.logits[2 * i + 1] > r.logits[2 * i] ? 1 : 0) === y[i]) c++; return c / n; };
const r0 = await lossGrad(x, y);
const margins = Array.from({ length: n }, (_, i) => Math.abs(r0.logits[2 * i + 1] - r0.logits[2 * i])).sort((a, b) => a - b);
console.log('clean acc', await acc(x), 'median |logit margin|', margins[n >> 1].toFixed(2), 'max', margins[n - 1].toFixed(2), 'zero-grad share', (r0.grad.filter((g) => g === 0).length / r0.grad.length).toFixed(4));
// FD check on image 0, 6 random pixels: d loss_0 / d x_p
const one = x.slice(0, ss), lab1 = y.slice(0, 1);
const g1 = (await lossGrad(one, lab1)).grad;
for (const p of [100, 1000, 2080, 2500, 3000, 4000]) {
  const e = 1e-3; const a = one.slice(); a[p] += e; const b = one.slice(); b[p] -= e;
  const fd = ((await lossGrad(a, lab1)).loss[0] - (await lossGrad(b, lab1)).loss[0]) / (2 * e);
  console.log(`pixel ${p}: analytic ${g1[p].toExponential(3)} fd ${fd.toExponential(3)}`);
}
const oracle = { name: 'c', lossGrad: (v: Float32Array, lab: Int32Array) => lossGrad(v, lab) };
for (const [eps255, K] of [[2, 10], [2, 50], [4, 10], [8, 10], [16, 10]]) {
  const eps = eps255 / 255;
  const r = await pgd(oracle, x, y, idx, { norm: 'linf', eps, alpha: 2.5 * eps / K, steps: K, restarts: 1, randomStart: true, seed: 0 });
  console.log(`PGD-linf ${eps255}/255 K=${K}: acc ${(await acc(r.adv)).toFixed(3)}`);
}
// random sign noise at 8/255 for comparison
const noisy = x.map((v, i) => Math.min(1, Math.max(0, v + (((i * 2654435761) >>> 0) % 2 ? 1 : -1) * 8 / 255)));
console.log('random ±8/255 acc', await acc(noisy));
await grad.release();
