/**
 * Diffusion recipe: DDPM ε-prediction UNet (nets/unet.ts), linear β 1e-4 → 0.02, T = 1000, images in [−1, 1],
 * trained on clean images only (group-train + admissible unlabelled pred/ images, as for the MAE).
 *
 * Timesteps are sampled with emphasis on the range purification uses (t* ≤ 300):
 *   t ~ 0.8 · U{0, …, 299} + 0.2 · U{0, …, 999}
 * i.e. P(t) = 0.8/300 + 0.2/1000 ≈ 2.87e-3 for t < 300 and 2e-4 for t ≥ 300; 86 % of samples fall below 300. The
 * loss is the plain (unweighted) ε-MSE. Noise and timesteps come from the trainer's per-step seed (exact resume).
 *
 *   net        width 32, levels ×1/×2/×2/×2 (64→8 px; self-attention at 8×8 and in the middle), GroupNorm(8)
 *   optimiser  AdamW β 0.9/0.999, no weight decay, peak lr 4e-4, 50 warm-up steps, cosine to 2e-5, clip 1
 *   batch      16; augmentation: flip, small affine, mild gamma/contrast; no pixel noise
 *   EMA        decay 0.995 with warm-up (ema.ts), kept in the optimiser state; the EMA weights ship
 *   monitor    every 200 steps: validation ε-MSE of the EMA weights at t ∈ {50, 100, 200, 300, 500} (fixed noise)
 *              and a preview PNG (noised → DDIM-denoised validation images at t* = 100 and 200) in the run folder
 * Validation and previews purify with the shipped DDIM sampler and schedule (inference/pipeline/ddim.ts, tstar.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as unet from '../../inference/nets/unet.js';
import { linearSchedule } from '../../inference/nets/diffusion-schedule.js';
import { GraphRunner, runStep } from '../../inference/nets/common.js';
import { AdamW, cosineWithWarmup } from '../../core/train/optim.js';
import { train } from '../../core/train/trainer.js';
import type { StepFn } from '../../core/train/types.js';
import type { NamedWeights } from '../../core/tensor.js';
import type { ImageDataset } from '../../core/train/dataset.js';
import type { AugmentOptions } from '../../core/train/augment.js';
import { Rng } from '../../core/rng.js';
import { TimeLedger, applyOverrides, augmentedFactory, cleanTrainingSet, prepareRunDir } from './common.js';
import { EmaOptimizer } from './ema.js';
import { EpsModel } from './ddim.js';
import { ddimSample } from '../../inference/pipeline/ddim.js';
import { ddimTimesteps } from '../../inference/pipeline/tstar.js';
import { gridPng } from './png.js';
import type { RecipeOutcome, RecipeRunOptions } from './types.js';

export interface TimestepSampling {
  /** Probability of drawing t uniformly below `focusBelow`; otherwise uniformly over all T. */
  focusP: number;
  focusBelow: number;
}

export interface DiffusionRecipe {
  net: unet.UnetConfig;
  batch: number;
  steps: number;
  peakLr: number;
  minLr: number;
  warmupSteps: number;
  clipNorm: number;
  emaDecay: number;
  timesteps: TimestepSampling;
  augment: AugmentOptions;
  usePred: boolean;
  evalEvery: number;
  checkpointEvery: number;
}

export const DIFFUSION_RECIPE: DiffusionRecipe = {
  net: { ...unet.UNET_DEFAULT, mults: [1, 2, 2, 2] },
  batch: 16,
  steps: 1500,
  peakLr: 4e-4,
  minLr: 2e-5,
  warmupSteps: 50,
  clipNorm: 1,
  emaDecay: 0.995,
  timesteps: { focusP: 0.8, focusBelow: 300 },
  augment: { flipP: 0.5, rotateDeg: 8, scaleMin: 0.95, scaleMax: 1.05, translate: 0.04, contrast: 0.08, brightness: 0.02, gammaMax: 1.1 },
  usePred: true,
  evalEvery: 200,
  checkpointEvery: 25,
};

/** Draws one timestep from the focused mixture. */
export function sampleTimestep(rng: Rng, T: number, s: TimestepSampling): number {
  return rng.next() < s.focusP ? rng.int(Math.min(s.focusBelow, T)) : rng.int(T);
}

/** StepFn: ε-MSE with focused timesteps and Gaussian noise drawn from Rng(batch.seed). */
export function focusedDiffusionStep(cfg: unet.UnetConfig, sampling: TimestepSampling, threads: number): StepFn & { release(): Promise<void> } {
  const runner = new GraphRunner({ threads });
  const ab = linearSchedule(cfg.T).alphaBar;
  const ss = cfg.size * cfg.size;
  const step: StepFn = async (weights, batch) => {
    const n = batch.x.shape[0];
    const rng = new Rng(batch.seed ?? 0);
    const t = new Float32Array(n), sa = new Float32Array(n), s1 = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const ti = sampleTimestep(rng, cfg.T, sampling);
      t[i] = ti;
      sa[i] = Math.sqrt(ab[ti]);
      s1[i] = Math.sqrt(1 - ab[ti]);
    }
    const eps = new Float32Array(n * ss);
    rng.fillNormal(eps);
    const g = await runner.get(`train:${n}`, () => unet.buildTrainGraph(cfg, n));
    const { result } = await runStep(g, weights, {
      x0: batch.x, eps: { shape: [n, 1, cfg.size, cfg.size], data: eps }, t: { shape: [n], data: t },
      sqrt_ab: { shape: [n, 1, 1, 1], data: sa }, sqrt_1mab: { shape: [n, 1, 1, 1], data: s1 },
    });
    return result;
  };
  return Object.assign(step, { release: () => runner.release() });
}

const EVAL_T = [50, 100, 200, 300, 500];
const EVAL_SEED = 0x44494646; // 'DIFF'

/** A fixed, class-balanced subset of validation indices (every k-th of each class). */
function evalSubset(ds: ImageDataset, val: Int32Array, n: number): Int32Array {
  const no = [...val].filter((i) => ds.labels[i] === 0), yes = [...val].filter((i) => ds.labels[i] === 1);
  const pick = (a: number[], m: number) => Array.from({ length: Math.min(m, a.length) }, (_, k) => a[Math.floor((k * a.length) / Math.min(m, a.length))]);
  return Int32Array.from([...pick(no, n / 2), ...pick(yes, n / 2)]);
}

/** Validation ε-MSE per evaluation timestep, fixed noise (deterministic across evaluations). */
async function epsMse(model: EpsModel, weights: NamedWeights, ds: ImageDataset, idx: Int32Array): Promise<Record<string, number>> {
  const { cfg, batch } = model;
  const ss = cfg.size * cfg.size;
  const ab = linearSchedule(cfg.T).alphaBar;
  const out: Record<string, number> = {};
  let all = 0;
  for (const t of EVAL_T) {
    let sum = 0, count = 0;
    for (let from = 0; from + batch <= idx.length; from += batch) {
      const rng = new Rng(EVAL_SEED + t * 7919 + from);
      const eps = new Float32Array(batch * ss);
      rng.fillNormal(eps);
      const xt = new Float32Array(batch * ss);
      const sa = Math.sqrt(ab[t]), s1 = Math.sqrt(1 - ab[t]);
      for (let k = 0; k < batch; k++) {
        const im = ds.image(idx[from + k]);
        for (let p = 0; p < ss; p++) xt[k * ss + p] = sa * (2 * im[p] - 1) + s1 * eps[k * ss + p];
      }
      const pred = await model.eps(weights, { shape: [batch, 1, cfg.size, cfg.size], data: xt }, new Float32Array(batch).fill(t));
      for (let i = 0; i < pred.length; i++) { const d = pred[i] - eps[i]; sum += d * d; }
      count += pred.length;
    }
    out[`epsMse_t${t}`] = sum / count;
    all += sum / count;
  }
  out.loss = all / EVAL_T.length;
  return out;
}

/** DDIM purification of clean validation images from t* (10 steps): pixel MSE of noised and of purified vs clean. */
async function purifyEval(model: EpsModel, weights: NamedWeights, ds: ImageDataset, idx: Int32Array, tStar: number, keep?: Float32Array[][]) {
  const { cfg, batch } = model;
  const ss = cfg.size * cfg.size;
  let noisedMse = 0, purifiedMse = 0, count = 0;
  for (let from = 0; from + batch <= idx.length; from += batch) {
    const px = new Float32Array(batch * ss);
    for (let k = 0; k < batch; k++) px.set(ds.image(idx[from + k]), k * ss);
    const noise = new Float32Array(batch * ss);
    new Rng(EVAL_SEED + 17 * tStar + from).fillNormal(noise);
    const steps = ddimTimesteps(tStar, 10);
    const eps = (xt: Float32Array, t: Float32Array) => model.eps(weights, { shape: [batch, 1, cfg.size, cfg.size], data: xt }, t);
    const { noised, purified } = await ddimSample(eps, px, noise, Array.from({ length: batch }, () => steps), linearSchedule(cfg.T).alphaBar, ss);
    for (let i = 0; i < px.length; i++) {
      noisedMse += (noised[i] - px[i]) ** 2;
      purifiedMse += (purified[i] - px[i]) ** 2;
    }
    count += px.length;
    if (keep && from === 0) keep.push(Array.from({ length: batch }, (_, k) => noised.slice(k * ss, (k + 1) * ss)), Array.from({ length: batch }, (_, k) => purified.slice(k * ss, (k + 1) * ss)));
  }
  return { noisedMse: noisedMse / count, purifiedMse: purifiedMse / count };
}

async function preview(model: EpsModel, weights: NamedWeights, ds: ImageDataset, idx8: Int32Array): Promise<{ png: Uint8Array; metrics: Record<string, number> }> {
  const rows: Float32Array[][] = [[...idx8].map((i) => ds.image(i).slice())];
  const metrics: Record<string, number> = {};
  for (const t of [100, 200]) {
    const r = await purifyEval(model, weights, ds, idx8, t, rows);
    metrics[`preview_t${t}_noisedMse`] = r.noisedMse;
    metrics[`preview_t${t}_purifiedMse`] = r.purifiedMse;
  }
  return { png: gridPng(rows, ds.size, 2), metrics };
}

const sig = (x: number) => Number(x.toPrecision(4));

export async function runDiffusionRecipe(o: RecipeRunOptions, recipe: DiffusionRecipe = DIFFUSION_RECIPE): Promise<RecipeOutcome> {
  const { ds, split } = o.data;
  const base = applyOverrides(recipe, o.overrides);
  const r: DiffusionRecipe = { ...base, net: { ...base.net, size: o.size } };
  const { set, predUsed, predExcluded } = await cleanTrainingSet(o.data, r.usePred);
  const all = Int32Array.from({ length: set.count }, (_, i) => i);
  const perEpoch = Math.floor(set.count / r.batch);
  const totalSteps = o.steps ?? (o.epochs !== undefined ? o.epochs * perEpoch : r.steps);
  const runConfig = { model: 'diffusion', recipe: r, steps: totalSteps, seed: o.seed, data: ds.meta.fingerprint, split: o.data.splitName, trainImages: set.count };
  const runDir = await prepareRunDir('diffusion', runConfig, { resume: o.resume, fresh: o.fresh, runsDir: o.runsDir });
  const params = [...unet.init(r.net, 0).values()].reduce((s, t) => s + t.data.length, 0);
  o.log(`diffusion: ${params} parameters; ${set.count} training images (${split.train.length} group-train + ${predUsed} pred/); batch ${r.batch}, ${totalSteps} steps (${(totalSteps / perEpoch).toFixed(1)} epochs); run folder ${runDir}`);

  const weights = unet.init(r.net, o.seed);
  const step = focusedDiffusionStep(r.net, r.timesteps, o.threads);
  const ema = new EmaOptimizer(new AdamW({ weightDecay: 0 }), r.emaDecay);
  const evalModel = await EpsModel.create(r.net, 16, o.threads);
  const previewModel = await EpsModel.create(r.net, 8, o.threads);
  const evalIdx = evalSubset(ds, split.val, 64);
  const idx8 = evalSubset(ds, split.val, 8);
  const ledger = await TimeLedger.open(runDir, o.resume);
  const shipped = () => ema.averaged ?? weights;
  try {
    const res = await train({
      signal: o.signal,
      weights, step, optimizer: ema,
      data: augmentedFactory(set, all, r.batch, r.augment, null, o.seed),
      steps: totalSteps,
      batchesPerEpoch: perEpoch,
      seed: o.seed,
      lr: cosineWithWarmup({ peak: r.peakLr, warmupSteps: Math.min(r.warmupSteps, totalSteps), totalSteps, minLr: r.minLr }),
      clipGradNorm: r.clipNorm,
      evalEvery: r.evalEvery,
      // Monitors the EMA weights; the metric name below is deliberately not returned, so the trainer keeps no
      // "best" copy: the shipped weights are the final EMA, not selected on validation.
      evalFn: async () => {
        const m = await epsMse(evalModel, shipped(), ds, evalIdx);
        const p = await preview(previewModel, shipped(), ds, idx8);
        await writeFile(join(runDir, 'preview-latest.png'), p.png);
        return { ...m, ...p.metrics };
      },
      select: { metric: 'no-selection', mode: 'min' },
      checkpointDir: runDir,
      checkpointEvery: r.checkpointEvery,
      resume: o.resume,
      config: runConfig,
      progressBar: o.progressBar,
      onProgress: (p) => { if (p.phase === 'checkpoint') void ledger.save(); },
    });
    await ledger.save();
    const trainSeconds = ledger.seconds; // training only, without the final evaluations
    const final = shipped();
    const val = await epsMse(evalModel, final, ds, evalIdx);
    const purify: Record<string, { noisedMse: number; purifiedMse: number }> = {};
    for (const t of [100, 200, 300]) {
      const p = await purifyEval(previewModel, final, ds, evalIdx, t);
      purify[`t${t}`] = { noisedMse: sig(p.noisedMse), purifiedMse: sig(p.purifiedMse) };
    }
    const pv = await preview(previewModel, final, ds, idx8);
    return {
      model: 'diffusion',
      weights: final,
      netConfig: { ...r.net, mults: [...r.net.mults], schedule: { kind: 'linear', beta1: 1e-4, betaT: 0.02, T: r.net.T }, prediction: 'epsilon', inputRange: '[-1, 1] = 2·pixel − 1' },
      recipe: { ...r, steps: totalSteps, stepsPerEpoch: perEpoch, seed: o.seed, threads: o.threads, trainImages: set.count, predImagesUsed: predUsed, predImagesExcluded: predExcluded },
      metrics: {
        parameters: params,
        valEpsMse: Object.fromEntries(Object.entries(val).map(([k, v]) => [k, sig(v)])),
        valDdimPurification: purify,
        valCurve: res.evals.map((e) => [e.step, sig(e.metrics.loss)]),
      },
      metricNotes: [
        `valEpsMse: ε-prediction MSE of the shipped (EMA) weights on ${evalIdx.length} group-val images (class-balanced fixed subset), fixed Gaussian noise, at t ∈ {${EVAL_T.join(', ')}}; loss = their mean. 1.0 would be predicting zero.`,
        `valDdimPurification: the same images diffused to t* with fixed noise and denoised by deterministic DDIM in 10 steps; pixel MSE (images in [0, 1]) of the noised image and of the DDIM output against the clean image. A good purifier keeps purifiedMse far below noisedMse.`,
        'No test-set number: the diffusion model is a component; its effect on accuracy is measured by the pipeline benchmarks.',
        `valCurve: [step, mean val ε-MSE] every ${r.evalEvery} steps.`,
      ],
      training: {
        steps: res.step, plannedSteps: totalSteps, epochs: Number((res.step / perEpoch).toFixed(2)), seconds: trainSeconds, resumedFrom: res.resumedFrom, runDir,
        selected: `EMA (decay ${r.emaDecay}) of the weights after ${res.step} steps (no selection on validation)`,
      },
      notes: [
        `DDPM ε-prediction UNet (nets/unet.ts): base width ${r.net.width}, level multipliers ${r.net.mults.join('/')}, GroupNorm(${r.net.groups}), ${r.net.heads}-head self-attention at the lowest resolution and in the middle, sinusoidal time embedding.`,
        `Schedule: linear β from 1e-4 to 0.02, T = ${r.net.T}; x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε with x0 = 2·pixel − 1; loss = MSE(ε̂, ε).`,
        `Timesteps: with probability ${r.timesteps.focusP} uniform on {0…${r.timesteps.focusBelow - 1}}, else uniform on {0…${r.net.T - 1}} — the range purification uses (t* ≤ 300) gets ≈ 86 % of the samples; larger t are still seen so the model stays defined there.`,
        `AdamW (no weight decay), peak lr ${r.peakLr}, ${r.warmupSteps} warm-up steps, cosine to ${r.minLr}, clip ${r.clipNorm}, batch ${r.batch}, ${totalSteps} steps. EMA decay ${r.emaDecay} (warm-up min(d, (1+t)/(10+t))); the EMA weights ship.`,
        `Data: clean images only — ${split.train.length} group-train + ${predUsed} unlabelled pred/ images whose group is not in val/test. Augmentation: flip, rotation ±${r.augment.rotateDeg}°, scale ${r.augment.scaleMin}–${r.augment.scaleMax}, shift ±${(r.augment.translate! * 100).toFixed(0)} %, mild gamma/contrast.`,
        'Inference: deterministic DDIM (η = 0) from t* to 0; the preview and purification metrics use 10 evenly spaced steps.',
      ],
      limitations: [
        `Short training on 2 CPU cores (${totalSteps} steps of batch ${r.batch}, a few epochs): the model is a usable denoiser for small t* but far from a converged generative model; do not expect good samples from pure noise (t near 1000).`,
        'Purification removes detail along with perturbations: small lesions can be blurred at large t*; the pipeline must check clean accuracy with the purifier in the path.',
        'Trained on Br35H 64 px slices only.',
      ],
      previews: [{
        file: 'diffusion.ddim.png', png: pv.png,
        caption: 'Group-val images (4 no tumour, 4 tumour), enlarged 2×. Rows: clean; noised to t = 100; DDIM-denoised from t = 100 (10 steps); noised to t = 200; DDIM-denoised from t = 200.',
      }],
    };
  } finally {
    await step.release();
    await evalModel.release();
    await previewModel.release();
  }
}
