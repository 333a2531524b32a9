/**
 * Tumour-like lesions painted into images. Two users:
 *  - the synthetic stand-in dataset (data/synthetic.ts) paints the 24 simulated lesion masks into Colin27 slices;
 *  - lesion-synthesis augmentation for the classifier (`synthesiseLesion`, recipes/classifier.ts `lesionSynthP`):
 *    a random blob painted into a training image of a healthy slice turns it into a tumour example. Br35H's tumour
 *    class and its no-tumour class differ in more than lesions (contrasts, acquisition, framing), and a classifier
 *    can learn those cues instead; a lesion painted into the no-tumour images' own contrasts makes the lesion the
 *    only difference between the pair. Measured on Br35H it lowers accuracy (native-models/models/README.md, recipe
 *    study), so it is off by default.
 */
import type { Rng } from '../../core/rng.js';

/** Separable Gaussian blur with edge clamping, in place (rows/columns copied into a padded line buffer). */
export function gaussianBlur(img: Float32Array, w: number, h: number, sigma: number): void {
  if (sigma <= 0) return;
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  const line = new Float32Array(Math.max(w, h) + 2 * r);
  const pass = (n: number, count: number, stride: number, step: number) => {
    for (let c = 0; c < count; c++) {
      const base = c * stride;
      for (let i = 0; i < n; i++) line[r + i] = img[base + i * step];
      for (let i = 0; i < r; i++) { line[i] = line[r]; line[r + n + i] = line[r + n - 1]; }
      for (let i = 0; i < n; i++) {
        let a = 0;
        for (let j = 0; j < k.length; j++) a += k[j] * line[i + j];
        img[base + i * step] = a;
      }
    }
  };
  pass(w, h, w, 1); // rows
  pass(h, w, 1, w); // columns
}

/** Edge softness and texture scale of a painted lesion, in pixels of the image painted into. */
export interface PaintScale {
  /** Gaussian σ that softens the mask's edge (default 1.5, for the 1-mm Colin27 grid). */
  edgeSigma: number;
  /** Gaussian σ of the core's texture noise (default 2.5). */
  textureSigma: number;
  /** Pixels around the mask's bounding box that the soft edge may reach (default 8). */
  margin: number;
}

const NATIVE_SCALE: PaintScale = { edgeSigma: 1.5, textureSigma: 2.5, margin: 8 };

/**
 * Paint a tumour-like region (mask `m`, binary, W×H) into `img`: a heterogeneous core, bright or dark, an enhancing
 * rim and soft edges. Works on the mask's bounding box + margin.
 */
export function paintLesion(img: Float32Array, m: Float32Array, w: number, h: number, rng: Rng, scale: PaintScale = NATIVE_SCALE): void {
  let x0 = w, x1 = -1, y0 = h, y1 = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (m[y * w + x] > 0) {
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  const bright = rng.next() < 0.5;
  const core = bright ? rng.uniform(0.75, 0.95) : rng.uniform(0.12, 0.3);
  const rimGain = rng.uniform(0.15, 0.45);
  const texGain = rng.uniform(0.1, 0.25);
  if (x1 < 0) return; // nothing to paint (mask outside the head)
  const margin = scale.margin;
  x0 = Math.max(0, x0 - margin); y0 = Math.max(0, y0 - margin);
  x1 = Math.min(w - 1, x1 + margin); y1 = Math.min(h - 1, y1 + margin);
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  const soft = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) soft[y * bw + x] = m[(y + y0) * w + x + x0];
  gaussianBlur(soft, bw, bh, scale.edgeSigma);
  const texture = new Float32Array(bw * bh);
  rng.fillNormal(texture);
  gaussianBlur(texture, bw, bh, scale.textureSigma);
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) {
    const s = soft[y * bw + x];
    if (s <= 0.001) continue;
    const i = (y + y0) * w + x + x0;
    const tumour = core + texGain * texture[y * bw + x];
    const rim = 4 * s * (1 - s); // peaks on the boundary
    img[i] = img[i] * (1 - s) + s * tumour + rimGain * rim;
  }
}

/** Lesion-synthesis options (lengths are fractions of the image side). */
export interface LesionSynthOptions {
  /** Radius range of the blob as a fraction of the image side (default 0.04–0.14: 2.5–9 px at 64 px). */
  radiusMin: number;
  radiusMax: number;
  /** A pixel belongs to the head when its lightly blurred value exceeds this (default 0.08). */
  headThreshold: number;
}

export const LESION_SYNTH_DEFAULTS: LesionSynthOptions = { radiusMin: 0.04, radiusMax: 0.14, headThreshold: 0.08 };

/**
 * Paints one random tumour-like blob inside the head of `img` (W×H, [0, 1], in place) and clamps to [0, 1]. The blob
 * is an ellipse with a wobbly outline (random radius, aspect 0.6–1, rotation, three low-frequency harmonics), centred
 * where at least 85 % of it lies inside the head. Returns false, leaving the image untouched, when no such place is
 * found in 24 tries (an empty or tiny head).
 */
export function synthesiseLesion(img: Float32Array, w: number, h: number, rng: Rng, opts: LesionSynthOptions = LESION_SYNTH_DEFAULTS): boolean {
  const head = img.slice();
  gaussianBlur(head, w, h, 1);
  const side = Math.min(w, h);
  const r = rng.uniform(opts.radiusMin, opts.radiusMax) * side;
  const aspect = rng.uniform(0.6, 1), rot = rng.uniform(0, Math.PI);
  const harmonics = [2, 3, 5].map((k) => ({ k, a: rng.uniform(0, 0.15), phase: rng.uniform(0, 2 * Math.PI) }));
  const ext = Math.ceil(r * 1.5) + 1;
  const mask = new Float32Array(w * h);
  for (let attempt = 0; attempt < 24; attempt++) {
    const cx = rng.uniform(ext, w - 1 - ext), cy = rng.uniform(ext, h - 1 - ext);
    if (!(head[Math.round(cy) * w + Math.round(cx)] > opts.headThreshold)) continue;
    mask.fill(0);
    let inside = 0, total = 0;
    for (let y = Math.max(0, Math.floor(cy - ext)); y <= Math.min(h - 1, Math.ceil(cy + ext)); y++) {
      for (let x = Math.max(0, Math.floor(cx - ext)); x <= Math.min(w - 1, Math.ceil(cx + ext)); x++) {
        const dx = x - cx, dy = y - cy;
        const u = dx * Math.cos(rot) + dy * Math.sin(rot), v = (-dx * Math.sin(rot) + dy * Math.cos(rot)) / aspect;
        const theta = Math.atan2(v, u);
        let rr = r;
        for (const hm of harmonics) rr *= 1 + hm.a * Math.sin(hm.k * theta + hm.phase);
        if (u * u + v * v > rr * rr) continue;
        mask[y * w + x] = 1;
        total++;
        if (head[y * w + x] > opts.headThreshold) inside++;
      }
    }
    if (total === 0 || inside < 0.85 * total) continue;
    const scale = { edgeSigma: Math.max(0.5, side / 96), textureSigma: Math.max(0.8, side / 48), margin: Math.ceil(side / 16) };
    paintLesion(img, mask, w, h, rng, scale);
    for (let i = 0; i < img.length; i++) img[i] = img[i] < 0 ? 0 : img[i] > 1 ? 1 : img[i];
    return true;
  }
  return false;
}
