/**
 * MAE recipe: the masked autoencoder of nets/mae.ts (ViT encoder over the visible patches, light ViT decoder),
 * patch 8 at 64 px (64 patches), mask ratio 0.75 as in He et al. 2022, loss = pixel MSE on the masked patches.
 * Trained on clean images only: the group-train part plus the unlabelled Br35H `pred/` images whose near-duplicate
 * group is not in the validation or test part (labels are not used). Masks come from the trainer's per-step seed.
 * A class-stratified quarter of the group-train groups (`calibrationHoldout`, data/split.ts trainHoldout) is left
 * out of training: `medfedpure calibrate` scores those images with group-val, so the detector threshold rests on
 * about 130 unseen groups instead of 55.
 *
 *   optimiser  AdamW β 0.9/0.95 (as in MAE), weight decay 0.05 on matrices, peak lr 1e-3, warm-up 5 epochs, cosine
 *   batch      32; augmentation: flip, small affine, mild gamma/contrast (no pixel noise: the detector must find noise)
 *   selection  lowest validation masked-patch MSE, measured with one fixed seeded mask per validation image
 * The recipe writes a reconstruction preview (original / masked input / reconstruction / visible + predicted).
 */
import * as mae from '../../inference/nets/mae.js';
import { AdamW, cosineWithWarmup } from '../../core/train/optim.js';
import { train } from '../../core/train/trainer.js';
import type { NamedWeights } from '../../core/tensor.js';
import type { ImageDataset } from '../../core/train/dataset.js';
import { TRAIN_HOLDOUT_SEED, trainHoldout } from '../data/split.js';
import type { AugmentOptions } from '../../core/train/augment.js';
import { BatchedRunner, TimeLedger, applyOverrides, augmentedFactory, cleanTrainingSet, decayMatricesOnly, gatherImages, prepareRunDir } from './common.js';
import { gridPng } from './png.js';
import type { RecipeOutcome, RecipeRunOptions } from './types.js';

export interface MaeRecipe {
  net: mae.MaeConfig;
  batch: number;
  epochs: number;
  peakLr: number;
  minLr: number;
  warmupEpochs: number;
  weightDecay: number;
  clipNorm: number;
  augment: AugmentOptions;
  usePred: boolean;
  /** Fraction of group-train groups kept out of training for the detector's calibration (0 = none). */
  calibrationHoldout: number;
}

export const MAE_RECIPE: MaeRecipe = {
  net: { ...mae.MAE_DEFAULT },
  batch: 32,
  epochs: 60,
  peakLr: 1e-3,
  minLr: 1e-5,
  warmupEpochs: 5,
  weightDecay: 0.05,
  clipNorm: 1,
  augment: { flipP: 0.5, rotateDeg: 10, scaleMin: 0.9, scaleMax: 1.1, translate: 0.05, contrast: 0.1, brightness: 0.03, gammaMax: 1.15 },
  usePred: true,
  calibrationHoldout: 0.25,
};

/** Seed of the fixed evaluation mask of batch starting at item `from` (validation/test reporting only). */
const EVAL_MASK_SEED = 0x4d414530; // 'MAE0'

export interface MaeEval {
  count: number;
  /** Mean over images of the MSE on masked pixels (pixel units, images in [0, 1]). */
  maskedMse: number;
  /** Same, on the visible patches (the decoder also predicts them; not trained on). */
  visibleMse: number;
  maskedMseNo: number;
  maskedMseYes: number;
}

/** Masked-patch reconstruction error with one fixed seeded mask per batch position (deterministic). */
export async function evaluateMae(runner: BatchedRunner, cfg: mae.MaeConfig, weights: NamedWeights, ds: ImageDataset, indices: Int32Array,
  keepRecon?: { first: number; out: Float32Array[]; masks: Float32Array[] }): Promise<MaeEval> {
  const ss = cfg.size * cfg.size;
  const buf = new Float32Array(runner.batch * ss);
  let m = 0, v = 0;
  const byClass = [[0, 0], [0, 0]];
  await runner.run(weights, indices.length, (from, n) => {
    const mask = mae.sampleMask(cfg, runner.batch, EVAL_MASK_SEED + from);
    return { x: gatherImages(ds, indices, from, n, runner.batch, buf), keep: mask.keep, restore: mask.restore, mask: mask.mask };
  }, ['recon', 'mask_image'], (out, from, n) => {
    const recon = out.get('recon')!.data, mimg = out.get('mask_image')!.data;
    for (let k = 0; k < n; k++) {
      let sm = 0, cm = 0, sv = 0, cv = 0;
      for (let p = 0; p < ss; p++) {
        const d = recon[k * ss + p] - buf[k * ss + p];
        if (mimg[k * ss + p] > 0.5) { sm += d * d; cm++; } else { sv += d * d; cv++; }
      }
      m += sm / cm;
      v += sv / cv;
      const y = ds.labels[indices[from + k]];
      byClass[y][0] += sm / cm;
      byClass[y][1]++;
      if (keepRecon && from + k < keepRecon.first) {
        keepRecon.out.push(recon.slice(k * ss, (k + 1) * ss));
        keepRecon.masks.push(mimg.slice(k * ss, (k + 1) * ss));
      }
    }
  });
  return { count: indices.length, maskedMse: m / indices.length, visibleMse: v / indices.length, maskedMseNo: byClass[0][0] / byClass[0][1], maskedMseYes: byClass[1][0] / byClass[1][1] };
}

function round6(x: number): number {
  return Number(x.toPrecision(4));
}

/** Preview: 8 validation images (4 no, 4 yes) — original, masked input (masked = grey), reconstruction, visible + predicted. */
async function reconPreview(runner: BatchedRunner, cfg: mae.MaeConfig, weights: NamedWeights, ds: ImageDataset, val: Int32Array): Promise<Uint8Array> {
  const no = [...val].filter((i) => ds.labels[i] === 0), yes = [...val].filter((i) => ds.labels[i] === 1);
  const pick = (a: number[]) => [0, 1, 2, 3].map((k) => a[Math.floor((k * a.length) / 4)]);
  const idx = Int32Array.from([...pick(no), ...pick(yes)]);
  const keep = { first: idx.length, out: [] as Float32Array[], masks: [] as Float32Array[] };
  await evaluateMae(runner, cfg, weights, ds, idx, keep);
  const orig = [...idx].map((i) => ds.image(i).slice());
  const masked = orig.map((im, k) => im.map((p, j) => (keep.masks[k][j] > 0.5 ? 0.5 : p)));
  const composite = orig.map((im, k) => im.map((p, j) => (keep.masks[k][j] > 0.5 ? keep.out[k][j] : p)));
  return gridPng([orig, masked, keep.out, composite], ds.size, 2);
}

export async function runMaeRecipe(o: RecipeRunOptions, recipe: MaeRecipe = MAE_RECIPE): Promise<RecipeOutcome> {
  const { ds, split } = o.data;
  const base = applyOverrides(recipe, o.overrides);
  const r: MaeRecipe = { ...base, net: { ...base.net, size: o.size }, epochs: o.epochs ?? base.epochs };
  const held = trainHoldout(split, ds.labels, ds.groups, { fraction: r.calibrationHoldout, seed: TRAIN_HOLDOUT_SEED });
  const { set, predUsed, predExcluded } = await cleanTrainingSet(o.data, r.usePred, { holdout: held.holdout });
  const all = Int32Array.from({ length: set.count }, (_, i) => i);
  const perEpoch = Math.floor(set.count / r.batch);
  const totalSteps = o.steps ?? r.epochs * perEpoch;
  const runConfig = { model: 'mae', recipe: r, steps: totalSteps, seed: o.seed, data: ds.meta.fingerprint, split: o.data.splitName, trainImages: set.count };
  const runDir = await prepareRunDir('mae', runConfig, { resume: o.resume, fresh: o.fresh, runsDir: o.runsDir });
  const params = [...mae.init(r.net, 0).values()].reduce((s, t) => s + t.data.length, 0);
  o.log(`mae: ${params} parameters; ${set.count} training images (${held.rest.length} group-train + ${predUsed} pred/; held out for calibration: ${held.holdout.length} group-train images in ${held.groups} groups; ${predExcluded.length} pred/ excluded: group in val/test/holdout); ${perEpoch} steps/epoch, ${totalSteps} steps; run folder ${runDir}`);

  const weights = mae.init(r.net, o.seed);
  const step = mae.makeTrainStep(r.net, { threads: o.threads, seed: o.seed });
  const runner = await BatchedRunner.create(mae.buildInference(r.net, undefined, 32), 32, { threads: o.threads });
  const ledger = await TimeLedger.open(runDir, o.resume);
  try {
    const res = await train({
      signal: o.signal,
      weights, step,
      optimizer: new AdamW({ beta1: 0.9, beta2: 0.95, weightDecay: r.weightDecay, decay: decayMatricesOnly }),
      data: augmentedFactory(set, all, r.batch, r.augment, null, o.seed),
      steps: totalSteps,
      batchesPerEpoch: perEpoch,
      seed: o.seed,
      lr: cosineWithWarmup({ peak: r.peakLr, warmupSteps: Math.min(r.warmupEpochs * perEpoch, totalSteps), totalSteps, minLr: r.minLr }),
      clipGradNorm: r.clipNorm,
      evalEvery: perEpoch * 2,
      evalFn: async (w) => {
        const e = await evaluateMae(runner, r.net, w, ds, split.val);
        return { loss: e.maskedMse, visibleMse: e.visibleMse };
      },
      select: { metric: 'loss', mode: 'min' },
      checkpointDir: runDir,
      checkpointEvery: perEpoch,
      resume: o.resume,
      config: runConfig,
      progressBar: o.progressBar,
      onProgress: (p) => { if (p.phase === 'checkpoint') void ledger.save(); },
    });
    await ledger.save();
    const trainSeconds = ledger.seconds; // training only, without the final evaluations
    const best = res.best!;
    const val = await evaluateMae(runner, r.net, best.weights, ds, split.val);
    const test = await evaluateMae(runner, r.net, best.weights, ds, split.test);
    const png = await reconPreview(runner, r.net, best.weights, ds, split.val);
    const summary = (e: MaeEval) => ({ count: e.count, maskedMse: round6(e.maskedMse), visibleMse: round6(e.visibleMse), maskedMseNoTumour: round6(e.maskedMseNo), maskedMseTumour: round6(e.maskedMseYes) });
    return {
      model: 'mae',
      weights: best.weights,
      netConfig: { ...r.net },
      recipe: { ...r, steps: totalSteps, stepsPerEpoch: perEpoch, seed: o.seed, threads: o.threads, trainImages: set.count, predImagesUsed: predUsed, predImagesExcluded: predExcluded,
        calibrationHoldoutImages: held.holdout.length, calibrationHoldoutGroups: held.groups, calibrationHoldoutSeed: TRAIN_HOLDOUT_SEED },
      metrics: {
        parameters: params,
        val: summary(val),
        test: summary(test),
        bestStep: best.step,
        valCurve: res.evals.map((e) => [e.step, round6(e.metrics.loss)]),
      },
      metricNotes: [
        'maskedMse: mean over images of the pixel MSE on the masked 75 % of patches (images in [0, 1]); one fixed seeded mask per image (seed 0x4d414530 + batch offset, batch 32), so numbers are reproducible. visibleMse: the same on the visible patches (not trained on).',
        'val: group-val (model selection: lowest maskedMse). test: group-test, evaluated once at the end, for information (the detector threshold is calibrated elsewhere, on group-val + the group-train holdout).',
        'Per-class figures split val/test by the (unused) label: clean tumour slices are expected to be somewhat harder to reconstruct.',
        'valCurve: [step, val maskedMse] every 2 epochs.',
      ],
      training: {
        steps: res.step, plannedSteps: totalSteps, epochs: Number((res.step / perEpoch).toFixed(2)), seconds: trainSeconds, resumedFrom: res.resumedFrom, runDir,
        selected: `best by group-val masked-patch MSE at step ${best.step} of ${res.step}`,
      },
      notes: [
        `ViT MAE (nets/mae.ts): patch ${r.net.patch} at ${r.net.size} px (${mae.patchesOf(r.net)} patches), mask ratio ${r.net.maskRatio} (${mae.keptOf(r.net)} visible), encoder dim ${r.net.dim} × depth ${r.net.depth} (${r.net.heads} heads), decoder dim ${r.net.decoderDim} × depth ${r.net.decoderDepth}, MLP ratio ${r.net.mlpRatio}, fixed 2-D sin-cos positions.`,
        'Loss: pixel MSE on the masked patches only (no per-patch normalisation, so the reconstruction is directly comparable with the input for the detector).',
        `Data: clean images only — ${held.rest.length} group-train images${predUsed ? ` + ${predUsed} unlabelled pred/ images whose near-duplicate group is not in val/test/holdout (${predExcluded.length} pred/ image(s) excluded because their group is held out: ${predExcluded.join(', ') || 'none'})` : ''}. Labels are not used.`,
        `Calibration holdout: ${held.holdout.length} group-train images in ${held.groups} whole groups (${Math.round(r.calibrationHoldout * 100)} % of each class's group-train groups, seed ${TRAIN_HOLDOUT_SEED}; data/split.ts trainHoldout, part 'group-train-holdout') are not trained on; \`medfedpure calibrate\` sets the detector threshold on them together with group-val.`,
        `AdamW β 0.9/0.95, weight decay ${r.weightDecay} on matrices, peak lr ${r.peakLr}, ${r.warmupEpochs} warm-up epochs, cosine to ${r.minLr}, clip ${r.clipNorm}, batch ${r.batch}, ${r.epochs} epochs. Augmentation: flip, rotation ±${r.augment.rotateDeg}°, scale ${r.augment.scaleMin}–${r.augment.scaleMax}, shift ±${(r.augment.translate! * 100).toFixed(0)} %, gamma ≤ ${r.augment.gammaMax}, contrast ±${(r.augment.contrast! * 100).toFixed(0)} %; no pixel noise.`,
        'Masks: a fresh random mask per sample per step, drawn from the trainer\'s per-step seed (resume is exact).',
      ],
      limitations: [
        'Small model and data (a few thousand 64 px slices): reconstructions are blurry; the detector uses the error relative to a threshold calibrated on clean validation scans, not absolute fidelity.',
        'Reconstruction error depends on contrast and content (tumour slices, text overlays, unusual contrasts reconstruct worse); false alarms on unusual clean scans are expected.',
        'Trained on Br35H only; other scanners or preprocessing shift the error distribution and need recalibration.',
      ],
      previews: [{
        file: 'mae.recon.png', png,
        caption: 'Group-val images (4 no tumour, then 4 tumour), enlarged 2×. Rows: original; masked input (masked patches grey); full reconstruction; visible patches + reconstructed masked patches. Fixed evaluation mask.',
      }],
    };
  } finally {
    await step.release();
    await runner.release();
  }
}
