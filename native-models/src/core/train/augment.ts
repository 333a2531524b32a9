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
 *
 * `kind: 'strong'` is instead the torch reference recipe's augmentation (shared/reference/torch-classifier,
 * aug_ref), reproduced transform for transform: one affine map in normalised coordinates (affine_grid /
 * grid_sample, align_corners false, bilinear, zeros outside) made of a random resized crop (area share in
 * [areaMin, 1], aspect log-uniform in [1/aspectMax, aspectMax], each side's scale capped at 1, centre shifted by
 * (1 − scale)·U[−1, 1]), rotation ±rotateDeg, shear ±shear, horizontal flip p flipP and vertical flip p vflipP;
 * then contrast about the image's mean (× U[1 − contrast, 1 + contrast]) and brightness + U[±brightness],
 * clamped to [0, 1]. Ten uniforms per image.
 */
import type { Rng } from '../rng.js';

export interface AugmentOptions {
  /** 'mild' (default): the transforms above; 'strong': the torch reference recipe's (see the header). */
  kind?: 'mild' | 'strong';
  vflipP?: number; // strong: default 0.5
  areaMin?: number; // strong: default 0.8
  aspectMax?: number; // strong: default 4/3
  shear?: number; // strong: default 0.1
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
  kind: 'mild', vflipP: 0.5, areaMin: 0.8, aspectMax: 4 / 3, shear: 0.1,
  flipP: 0.5, rotateDeg: 10, scaleMin: 0.9, scaleMax: 1.1, translate: 0.06, contrast: 0.15, brightness: 0.05, gammaMax: 1.25,
};

/** Holds a scratch buffer so augmenting a batch allocates nothing after the first call. */
export class Augmenter {
  private scratch = new Float32Array(0);
  readonly opts: Required<AugmentOptions>;

  constructor(opts: AugmentOptions = {}) {
    this.opts = { ...DEFAULT_AUGMENT, ...opts };
    const o = this.opts;
    if (!(o.scaleMin > 0 && o.scaleMax >= o.scaleMin && o.gammaMax >= 1 && o.flipP >= 0 && o.flipP <= 1 && o.vflipP >= 0 && o.vflipP <= 1
      && o.areaMin > 0 && o.areaMin <= 1 && o.aspectMax >= 1 && (o.kind === 'mild' || o.kind === 'strong'))) {
      throw new RangeError('Augmenter: invalid options');
    }
  }

  /** Augment `n` images of size × size stored consecutively in `x`, in place. */
  apply(x: Float32Array, n: number, size: number, rng: Rng): void {
    const ss = size * size;
    if (x.length < n * ss) throw new RangeError(`Augmenter.apply: buffer holds ${x.length} values, need ${n * ss}`);
    if (this.scratch.length !== ss) this.scratch = new Float32Array(ss);
    for (let i = 0; i < n; i++) {
      if (this.opts.kind === 'strong') this.applyStrong(x, i * ss, size, rng);
      else this.applyOne(x, i * ss, size, rng);
    }
  }

  /** The reference recipe's aug_ref on one image (see the header): draws its ten numbers, then strongAugment. */
  private applyStrong(x: Float32Array, off: number, size: number, rng: Rng): void {
    const o = this.opts;
    const area = rng.uniform(o.areaMin, 1);
    const ar = Math.exp(rng.uniform(-Math.log(o.aspectMax), Math.log(o.aspectMax)));
    const sx = Math.min(Math.sqrt(area * ar), 1), sy = Math.min(Math.sqrt(area / ar), 1);
    const tx = (1 - sx) * rng.uniform(-1, 1), ty = (1 - sy) * rng.uniform(-1, 1);
    const theta = rng.uniform(-o.rotateDeg, o.rotateDeg) * (Math.PI / 180);
    const shear = rng.uniform(-o.shear, o.shear);
    const fx = rng.next() < o.flipP ? -1 : 1, fy = rng.next() < o.vflipP ? -1 : 1;
    const contrast = rng.uniform(1 - o.contrast, 1 + o.contrast), brightness = rng.uniform(-o.brightness, o.brightness);
    this.scratch.set(x.subarray(off, off + size * size));
    strongAugment(this.scratch, x.subarray(off, off + size * size), size, { sx, sy, tx, ty, theta, shear, fx, fy, contrast, brightness });
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

/** The parameters of one strong (reference) augmentation; see the header. */
export interface StrongParams {
  sx: number; sy: number; tx: number; ty: number; theta: number; shear: number; fx: number; fy: number; contrast: number; brightness: number;
}

/**
 * One strong augmentation of a size × size image `src` into `dst`: torch's affine_grid(A) + grid_sample (bilinear,
 * zeros, align_corners false) with A = [[cos·sx·fx, (−sin + shear)·sy·fy, tx], [sin·sx·fx, cos·sy·fy, ty]], then
 * (v − mean)·contrast + mean + brightness clamped to [0, 1].
 */
export function strongAugment(src: Float32Array, dst: Float32Array, size: number, p: StrongParams): void {
  const cos = Math.cos(p.theta), sin = Math.sin(p.theta);
  const a00 = cos * p.sx * p.fx, a01 = (-sin + p.shear) * p.sy * p.fy, a10 = sin * p.sx * p.fx, a11 = cos * p.sy * p.fy;
  const last = size - 1;
  let sum = 0;
  for (let y = 0; y < size; y++) {
    const yn = (2 * y + 1) / size - 1;
    for (let xx = 0; xx < size; xx++) {
      const xn = (2 * xx + 1) / size - 1;
      // normalised source → pixel coordinates (align_corners false)
      const px = ((a00 * xn + a01 * yn + p.tx + 1) * size - 1) / 2;
      const py = ((a10 * xn + a11 * yn + p.ty + 1) * size - 1) / 2;
      const x0 = Math.floor(px), y0 = Math.floor(py);
      const wx = px - x0, wy = py - y0;
      let val = 0;
      if (x0 >= -1 && x0 <= last && y0 >= -1 && y0 <= last) {
        const r0 = y0 * size, r1 = r0 + size;
        const inX0 = x0 >= 0, inX1 = x0 + 1 <= last;
        if (y0 >= 0) {
          if (inX0) val += (1 - wx) * (1 - wy) * src[r0 + x0];
          if (inX1) val += wx * (1 - wy) * src[r0 + x0 + 1];
        }
        if (y0 + 1 <= last) {
          if (inX0) val += (1 - wx) * wy * src[r1 + x0];
          if (inX1) val += wx * wy * src[r1 + x0 + 1];
        }
      }
      dst[y * size + xx] = val;
      sum += val;
    }
  }
  const m = sum / (size * size);
  for (let k = 0; k < size * size; k++) {
    const v = (dst[k] - m) * p.contrast + m + p.brightness;
    dst[k] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}
