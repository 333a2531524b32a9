/**
 * Resize a grey image to the models' square input (64 px by default; 128 and 224 work the same way).
 *
 * Geometry: letterbox, never crop. The image is centred on a square canvas of side max(w, h) padded with black (0),
 * then that square is resampled to size × size. MRI slices have a black background, so the padding looks like more
 * background, and no anatomy at the edges is cut away (a blind centre crop could cut off a peripheral tumour).
 *
 * Why this matters for Br35H: image size and aspect ratio are a known shortcut cue there (tumour images tend to be
 * larger; see the dataset's MANIFEST). Mapping every image to the same square canvas normalises that cue away; the
 * padding width still carries a little aspect information, which is unavoidable without cropping.
 *
 * Filter: separable, in the padded coordinate system.
 * - Downscaling (side > size): area / box filter — each output pixel is the exact average of the source area it
 *   covers, with fractional coverage at its borders. This is proper anti-aliasing (no moiré from skipped pixels).
 * - Upscaling or same size: bilinear with pixel-centre alignment (align_corners = false, as OpenCV INTER_LINEAR),
 *   edges replicated within the padded square.
 * Pixels of the padded square that fall outside the image are black (0) and are simply skipped in the sums.
 */
import type { GreyImage } from './decode.js';

/** Per-output-index contributions (compressed rows): source indices into the *image* axis and their weights. */
interface AxisWeights {
  start: Int32Array; // length out+1
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Weights mapping a padded axis of length `side` (image occupies [offset, offset + len)) onto `out` samples.
 * Source positions outside the image are dropped (they are black).
 */
function axisWeights(side: number, offset: number, len: number, out: number): AxisWeights {
  const scale = side / out;
  const idx: number[] = [];
  const wts: number[] = [];
  const start = new Int32Array(out + 1);
  for (let o = 0; o < out; o++) {
    start[o] = idx.length;
    if (scale > 1) {
      const lo = o * scale;
      const hi = lo + scale;
      for (let p = Math.floor(lo); p < Math.ceil(hi); p++) {
        const cover = Math.min(hi, p + 1) - Math.max(lo, p);
        const src = p - offset;
        if (cover > 0 && src >= 0 && src < len) {
          idx.push(src);
          wts.push(cover / scale);
        }
      }
    } else {
      const c = (o + 0.5) * scale - 0.5;
      let p0 = Math.floor(c);
      const f = c - p0;
      let p1 = p0 + 1;
      p0 = Math.min(Math.max(p0, 0), side - 1);
      p1 = Math.min(Math.max(p1, 0), side - 1);
      for (const [p, w] of [[p0, 1 - f], [p1, f]] as const) {
        const src = p - offset;
        if (w > 0 && src >= 0 && src < len) {
          idx.push(src);
          wts.push(w);
        }
      }
    }
  }
  start[out] = idx.length;
  return { start, index: Int32Array.from(idx), weight: Float64Array.from(wts) };
}

/**
 * Letterbox-pad `img` to a square with black and resample to size × size. Returns a new Float32Array (row-major)
 * or writes into `out` (length size²) when given. Values stay in [0, 1] for inputs in [0, 1] (weights are convex).
 */
export function letterboxResize(img: GreyImage, size: number, out?: Float32Array): Float32Array {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`letterboxResize: size must be a positive integer, got ${size}`);
  const { width: w, height: h, data } = img;
  if (data.length !== w * h) throw new RangeError(`letterboxResize: data has ${data.length} values for ${w}×${h}`);
  const dst = out ?? new Float32Array(size * size);
  if (dst.length !== size * size) throw new RangeError(`letterboxResize: out must hold ${size * size} values`);
  const side = Math.max(w, h);
  const offX = Math.floor((side - w) / 2);
  const offY = Math.floor((side - h) / 2);
  const ax = axisWeights(side, offX, w, size);
  const ay = axisWeights(side, offY, h, size);

  // Pass 1: horizontal, every image row → size columns.
  const tmp = new Float64Array(h * size);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const trow = y * size;
    for (let o = 0; o < size; o++) {
      let s = 0;
      for (let k = ax.start[o]; k < ax.start[o + 1]; k++) s += ax.weight[k] * data[row + ax.index[k]];
      tmp[trow + o] = s;
    }
  }
  // Pass 2: vertical.
  dst.fill(0);
  for (let o = 0; o < size; o++) {
    const drow = o * size;
    for (let k = ay.start[o]; k < ay.start[o + 1]; k++) {
      const wgt = ay.weight[k];
      const trow = ay.index[k] * size;
      for (let x = 0; x < size; x++) dst[drow + x] += wgt * tmp[trow + x];
    }
  }
  for (let i = 0; i < dst.length; i++) {
    const v = dst[i];
    dst[i] = v < 0 ? 0 : v > 1 ? 1 : v; // rounding guard only; pixel-space values, never normalised tensors
  }
  return dst;
}

/** Rounds [0,1] pixels to the 8-bit grid, as every loader and the dataset cache store them. */
export function quantiseInPlace(images: Float32Array): Float32Array {
  for (let i = 0; i < images.length; i++) images[i] = Math.round(images[i] * 255) / 255;
  return images;
}
