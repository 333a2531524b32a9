/** Tiny seeded models (16×16) and hand-made calibrations for the pipeline tests: same code paths, fast sessions. */
import * as classifier from '../../../../native-models/src/inference/nets/classifier.js';
import * as mae from '../../../../native-models/src/inference/nets/mae.js';
import * as unet from '../../../../native-models/src/inference/nets/unet.js';
import { weightsSha256, type ModelBundle } from '../../../../native-models/src/inference/pipeline/models.js';
import { CALIBRATION_FORMAT, type Calibration } from '../../../../native-models/src/inference/pipeline/calibrate.js';
import { Rng } from '../../../../native-models/src/core/rng.js';

export const C_CFG: classifier.ClassifierConfig = { size: 16, width: 4, groups: 2, classes: 2 };
export const M_CFG: mae.MaeConfig = { size: 16, patch: 4, maskRatio: 0.75, dim: 16, depth: 1, heads: 2, decoderDim: 16, decoderDepth: 1, decoderHeads: 2, mlpRatio: 2 };
export const U_CFG: unet.UnetConfig = { size: 16, width: 8, mults: [1, 2], groups: 4, heads: 2, T: 1000 };

export function tinyBundle(): ModelBundle {
  const c = classifier.init(C_CFG, 1), m = mae.init(M_CFG, 2), u = unet.init(U_CFG, 3);
  const mk = <C>(name: 'classifier' | 'mae' | 'unet', config: C, weights: ReturnType<typeof classifier.init>) => ({ name, config, weights, version: 'test-1', sha256: weightsSha256(weights), trained: false });
  return { classifier: mk('classifier', C_CFG, c), mae: mk('mae', M_CFG, m), unet: mk('unet', U_CFG, u), dir: '/nonexistent' };
}

/** A calibration with the given threshold (sHi = 2·threshold, or tiny when threshold is 0). */
export function calibrationFor(b: ModelBundle, threshold: number, opts: { K?: number; steps?: number } = {}): Calibration {
  const sc = { threshold, sHi: threshold > 0 ? 2 * threshold : 1e-9, median: 0, max: 0, valFlagRate: 0.05 };
  return {
    format: CALIBRATION_FORMAT, version: 1, createdUtc: '2026-11-29T00:00:00Z', split: 'test-fixture', n: 1, data: { source: 'fixture', fingerprint: '' },
    fpr: 0.05, detector: { maeSha256: b.mae.sha256, maeVersion: 'test-1', K: opts.K ?? 4, maskSeed: 5 },
    scoreKind: 'mse', scores: { mse: sc, laplacian: sc }, purification: { tMin: 50, tMax: 150, steps: opts.steps ?? 3, purifyAllTStar: 100, sHiFactor: 2 },
  };
}

export function images(n: number, seed = 1, size = 16) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({ width: size, height: size, pixels: Float32Array.from({ length: size * size }, () => Math.round(rng.uniform() * 255) / 255) }));
}
