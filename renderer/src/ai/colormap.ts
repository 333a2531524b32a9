/**
 * Colour scales for the AI overlays, as plain functions over numbers (no DOM), so they are unit-tested and the
 * viewport and the legends draw from the same code.
 *
 *  - heat: sequential, perceptually ordered (stops of matplotlib's "inferno": black → purple → orange → pale
 *    yellow) for the MAE reconstruction-error map. As an overlay its opacity grows with the value, so low-error
 *    anatomy stays visible underneath.
 *  - diverging: for purified − input, symmetric around 0 with a dark centre (no change = black, as the viewer's
 *    background): negative (purification darkened the pixel) → blue, positive (brightened) → orange/red. A dark
 *    centre keeps the large unchanged areas quiet on a dark reading screen, where a white centre would glare.
 *  - grey: model-space images in pixel space [0, 1] (input, purified), shown linearly with no window.
 */

export type Rgb = readonly [number, number, number];

/** Colour stops: position in [0, 1] and colour. */
type Stops = ReadonlyArray<readonly [number, Rgb]>;

const INFERNO: Stops = [
  [0, [0, 0, 4]],
  [0.25, [87, 16, 110]],
  [0.5, [188, 55, 84]],
  [0.75, [249, 142, 9]],
  [1, [252, 255, 164]],
];

/** Negative half then positive half, position in [0, 1] where 0.5 is zero difference. */
const DIVERGING: Stops = [
  [0, [120, 200, 255]],
  [0.25, [30, 110, 210]],
  [0.5, [12, 12, 12]],
  [0.75, [215, 70, 35]],
  [1, [255, 200, 120]],
];

function clamp01(t: number): number {
  return t < 0 ? 0 : t > 1 ? 1 : Number.isNaN(t) ? 0 : t;
}

function interpolate(stops: Stops, t: number): Rgb {
  const x = clamp01(t);
  for (let i = 1; i < stops.length; i++) {
    const [p1, c1] = stops[i];
    if (x <= p1) {
      const [p0, c0] = stops[i - 1];
      const f = (x - p0) / (p1 - p0);
      return [Math.round(c0[0] + f * (c1[0] - c0[0])), Math.round(c0[1] + f * (c1[1] - c0[1])), Math.round(c0[2] + f * (c1[2] - c0[2]))];
    }
  }
  return stops[stops.length - 1][1];
}

/** Heat colour of t in [0, 1] (clamped). */
export function heatColor(t: number): Rgb {
  return interpolate(INFERNO, t);
}

/** Diverging colour of t in [−1, 1] (clamped); 0 is the dark centre. */
export function divergingColor(t: number): Rgb {
  return interpolate(DIVERGING, (Math.max(-1, Math.min(1, Number.isNaN(t) ? 0 : t)) + 1) / 2);
}

/**
 * The q-quantile of |v| (q in (0, 1]): the top of a colour range that is not set by a few extreme pixels.
 * Never 0 (a constant-zero map gets a tiny positive range so the scale is still defined).
 */
export function robustAbsMax(values: ArrayLike<number>, q = 0.99): number {
  const a = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]);
    if (Number.isFinite(v)) a[n++] = v;
  }
  if (n === 0) return 1e-6;
  const sorted = a.subarray(0, n).sort();
  const k = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return Math.max(sorted[k], 1e-6);
}

/** A value range shown on a colour bar: [min, max], values outside are clipped to the ends. */
export interface ColourRange {
  min: number;
  max: number;
}

/** Error-map range: 0 to the 99th percentile. */
export function errorMapRange(map: ArrayLike<number>): ColourRange {
  return { min: 0, max: robustAbsMax(map, 0.99) };
}

/** Difference range: symmetric, ±(99th percentile of |d|). */
export function differenceRange(diff: ArrayLike<number>): ColourRange {
  const m = robustAbsMax(diff, 0.99);
  return { min: -m, max: m };
}

/**
 * RGBA of the error map as an overlay: heat colour of (v − min)/(max − min), alpha = maxAlpha·t (so 0 error is
 * fully transparent and the range top is `maxAlpha` opaque). Writes into `out` (length 4·n) when given.
 */
export function heatOverlayRgba(map: ArrayLike<number>, range: ColourRange, maxAlpha = 0.75, out?: Uint8ClampedArray): Uint8ClampedArray {
  const dst = out ?? new Uint8ClampedArray(map.length * 4);
  const span = range.max - range.min || 1;
  for (let i = 0; i < map.length; i++) {
    const t = clamp01((map[i] - range.min) / span);
    const [r, g, b] = heatColor(t);
    dst[i * 4] = r;
    dst[i * 4 + 1] = g;
    dst[i * 4 + 2] = b;
    dst[i * 4 + 3] = Math.round(255 * maxAlpha * t);
  }
  return dst;
}

/** Opaque RGBA of a difference image on the diverging scale, symmetric range ±limit. */
export function divergingRgba(diff: ArrayLike<number>, limit: number, out?: Uint8ClampedArray): Uint8ClampedArray {
  const dst = out ?? new Uint8ClampedArray(diff.length * 4);
  const l = limit > 0 ? limit : 1;
  for (let i = 0; i < diff.length; i++) {
    const [r, g, b] = divergingColor(diff[i] / l);
    dst[i * 4] = r;
    dst[i * 4 + 1] = g;
    dst[i * 4 + 2] = b;
    dst[i * 4 + 3] = 255;
  }
  return dst;
}

/** Opaque grey RGBA of an image in pixel space [0, 1] (clamped), no window. */
export function greyRgba(img: ArrayLike<number>, out?: Uint8ClampedArray): Uint8ClampedArray {
  const dst = out ?? new Uint8ClampedArray(img.length * 4);
  for (let i = 0; i < img.length; i++) {
    const g = Math.round(255 * clamp01(img[i]));
    dst[i * 4] = dst[i * 4 + 1] = dst[i * 4 + 2] = g;
    dst[i * 4 + 3] = 255;
  }
  return dst;
}

export type ScaleKind = 'heat' | 'diverging';

/** A horizontal colour bar `width` samples wide, left = range min, right = range max (opaque RGBA, one row). */
export function colourBarRgba(kind: ScaleKind, width: number): Uint8ClampedArray {
  const dst = new Uint8ClampedArray(width * 4);
  for (let x = 0; x < width; x++) {
    const t = width > 1 ? x / (width - 1) : 0;
    const [r, g, b] = kind === 'heat' ? heatColor(t) : divergingColor(2 * t - 1);
    dst.set([r, g, b, 255], x * 4);
  }
  return dst;
}

/** Short, readable number for a colour-bar end or a score: 3 significant digits, exponent only when tiny/huge. */
export function formatScaleNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e4) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}
