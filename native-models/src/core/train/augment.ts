/**
 * Seeded training augmentation for square grey images in pixel space [0, 1], applied in place on a batch
 * (N × S × S floats) in tight Float32Array loops with one reused scratch buffer.
 *
 * Per image, in this order:
 *  1. affine: rotation ±rotateDeg, isotropic scale in [scaleMin, scaleMax], translation ±translate·S per axis,
 *     horizontal flip with probability flipP — one inverse-mapped bilinear resample; samples from outside the image
 *     are black (0), the MRI background;
 *  2. intensity: gamma (log-uniform in [1/gammaMax, gammaMax]), then contrast (× c) and brightness (+ b) jitter,
 *     clamped to [0, 1]. Clamping here is on pixel values, never on normalised tensors.
 *
 * Every image draws the same number of random numbers whatever the options, so the stream position does not depend
 * on which augmentations are enabled.
 */
import type { Rng } from '../rng.js';

export interface AugmentOptions {
  flipP?: number; // default 0.5
  rotateDeg?: number; // default 10
  scaleMin?: number; // default 0.9
  scaleMax?: number; // default 1.1
  translate?: number; // fraction of the side, default 0.06
  contrast?: number; // c ∈ [1 - contrast, 1 + contrast], default 0.15
  brightness?: number; // b ∈ [-brightness, +brightness], default 0.05
  gammaMax?: number; // default 1.25
}

export const DEFAULT_AUGMENT: Required<AugmentOptions> = {
  flipP: 0.5, rotateDeg: 10, scaleMin: 0.9, scaleMax: 1.1, translate: 0.06, contrast: 0.15, brightness: 0.05, gammaMax: 1.25,
};

/** Holds a scratch buffer so augmenting a batch allocates nothing after the first call. */
export class Augmenter {
  private scratch = new Float32Array(0);
  readonly opts: Required<AugmentOptions>;

  constructor(opts: AugmentOptions = {}) {
    this.opts = { ...DEFAULT_AUGMENT, ...opts };
    const o = this.opts;
    if (!(o.scaleMin > 0 && o.scaleMax >= o.scaleMin && o.gammaMax >= 1 && o.flipP >= 0 && o.flipP <= 1)) {
      throw new RangeError('Augmenter: invalid options');
    }
  }

  /** Augment `n` images of size × size stored consecutively in `x`, in place. */
  apply(x: Float32Array, n: number, size: number, rng: Rng): void {
    const ss = size * size;
    if (x.length < n * ss) throw new RangeError(`Augmenter.apply: buffer holds ${x.length} values, need ${n * ss}`);
    if (this.scratch.length !== ss) this.scratch = new Float32Array(ss);
    for (let i = 0; i < n; i++) this.applyOne(x, i * ss, size, rng);
  }

  private applyOne(x: Float32Array, off: number, size: number, rng: Rng): void {
    const o = this.opts;
    // Draw all parameters first (fixed count: 8 uniforms).
    const flip = rng.next() < o.flipP;
    const theta = rng.uniform(-o.rotateDeg, o.rotateDeg) * (Math.PI / 180);
    const scale = rng.uniform(o.scaleMin, o.scaleMax);
    const tx = rng.uniform(-o.translate, o.translate) * size;
    const ty = rng.uniform(-o.translate, o.translate) * size;
    const gamma = Math.exp(rng.uniform(-Math.log(o.gammaMax), Math.log(o.gammaMax)));
    const c = rng.uniform(1 - o.contrast, 1 + o.contrast);
    const b = rng.uniform(-o.brightness, o.brightness);

    // Inverse map: output (u, v) about the centre → source = R(-θ)(u - t) / s (+ flip).
    const src = this.scratch;
    src.set(x.subarray(off, off + size * size));
    const cen = (size - 1) / 2;
    const cos = Math.cos(theta) / scale;
    const sin = Math.sin(theta) / scale;
    const last = size - 1;
    for (let y = 0; y < size; y++) {
      const v = y - cen - ty;
      for (let xx = 0; xx < size; xx++) {
        const u = xx - cen - tx;
        let sx = cos * u + sin * v + cen;
        const sy = -sin * u + cos * v + cen;
        if (flip) sx = last - sx;
        // Bilinear sample, zero outside.
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        let val = 0;
        if (x0 >= -1 && x0 <= last && y0 >= -1 && y0 <= last) {
          const r0 = y0 * size;
          const r1 = r0 + size;
          const inX0 = x0 >= 0;
          const inX1 = x0 + 1 <= last;
          if (y0 >= 0) {
            if (inX0) val += (1 - fx) * (1 - fy) * src[r0 + x0];
            if (inX1) val += fx * (1 - fy) * src[r0 + x0 + 1];
          }
          if (y0 + 1 <= last) {
            if (inX0) val += (1 - fx) * fy * src[r1 + x0];
            if (inX1) val += fx * fy * src[r1 + x0 + 1];
          }
        }
        // Intensity jitter in pixel space.
        let p = val > 0 ? Math.pow(val, gamma) : 0;
        p = c * p + b;
        x[off + y * size + xx] = p < 0 ? 0 : p > 1 ? 1 : p;
      }
    }
  }
}
