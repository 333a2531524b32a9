/**
 * Window/level (VOI) maths and presets, free of the DOM so it can be unit-tested in Node.
 *
 * `renderVoi` maps modality values (a contract `Frame`'s Float32Array) to 8-bit grey RGBA with the
 * DICOM linear VOI function (PS3.3 C.11.2.1.2.1). For integer-valued frames with a modest range it
 * precomputes a lookup table over [min, max] and indexes it; otherwise it evaluates the line per pixel.
 */

export interface Voi {
  /** Window centre (level), in modality units. */
  center: number;
  /** Window width, in modality units, >= 1. */
  width: number;
}

/** The subset of a contract `Frame` the VOI maths needs. */
export interface VoiFrame {
  pixels: Float32Array;
  minValue: number;
  maxValue: number;
  photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2';
  windowCenter?: number;
  windowWidth?: number;
}

export type PresetId = 'auto' | 'full' | 'robust' | 'robust5' | 'brain' | 'subdural' | 'stroke' | 'bone';

export interface VoiPreset {
  id: PresetId;
  label: string;
  /** Fixed window, or undefined when derived from the frame. */
  fixed?: Voi;
}

const AUTO: VoiPreset = { id: 'auto', label: 'Auto (DICOM VOI)' };
const FULL: VoiPreset = { id: 'full', label: 'Full range' };
const ROBUST: VoiPreset = { id: 'robust', label: 'Auto 1–99 %' };
const ROBUST5: VoiPreset = { id: 'robust5', label: 'Auto 5–95 %' };

/**
 * Every preset, in the order of the CT list. CT windows are in Hounsfield units and mean nothing on other
 * modalities (on MR they turn the slice solid white), so `presetsFor` offers them only for CT.
 */
export const VOI_PRESETS: readonly VoiPreset[] = [
  AUTO,
  FULL,
  { id: 'brain', label: 'Brain 80/40', fixed: { width: 80, center: 40 } },
  { id: 'subdural', label: 'Subdural 200/75', fixed: { width: 200, center: 75 } },
  { id: 'stroke', label: 'Stroke 40/40', fixed: { width: 40, center: 40 } },
  { id: 'bone', label: 'Bone 2800/600', fixed: { width: 2800, center: 600 } },
  ROBUST,
  ROBUST5,
];

/** The presets offered for a modality, in hotkey order (1..n): CT windows for CT, percentile windows otherwise. */
export function presetsFor(modality: string | undefined): readonly VoiPreset[] {
  if (modality === 'CT') return VOI_PRESETS.filter((p) => p.id !== 'robust' && p.id !== 'robust5');
  return [AUTO, FULL, ROBUST, ROBUST5];
}

export const MIN_WIDTH = 1;

/** Full range of the frame's values. */
export function fullRangeVoi(frame: Pick<VoiFrame, 'minValue' | 'maxValue'>): Voi {
  const width = Math.max(MIN_WIDTH, frame.maxValue - frame.minValue);
  return { center: frame.minValue + width / 2, width };
}

/** The DICOM's own VOI when present, else the full range. */
export function autoVoi(frame: VoiFrame): Voi {
  if (frame.windowWidth !== undefined && frame.windowCenter !== undefined && frame.windowWidth >= MIN_WIDTH) {
    return { center: frame.windowCenter, width: frame.windowWidth };
  }
  return fullRangeVoi(frame);
}

/**
 * A window from the 1st to the 99th percentile of the non-background values (values above the frame
 * minimum); MR intensities have no absolute scale, so this is the sensible "soft tissue" default.
 */
export function percentileVoi(frame: VoiFrame, lowPct = 1, highPct = 99): Voi {
  const { pixels, minValue, maxValue } = frame;
  const range = maxValue - minValue;
  if (!(range > 0)) return fullRangeVoi(frame);
  const bins = 1024;
  const hist = new Uint32Array(bins);
  const scale = (bins - 1) / range;
  let counted = 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (v <= minValue) continue; // background (air) would dominate the histogram
    hist[((v - minValue) * scale) | 0]++;
    counted++;
  }
  if (counted === 0) return fullRangeVoi(frame);
  const lowCount = (counted * lowPct) / 100;
  const highCount = (counted * highPct) / 100;
  let acc = 0;
  let lo = 0;
  let hi = bins - 1;
  let loFound = false;
  for (let b = 0; b < bins; b++) {
    acc += hist[b];
    if (!loFound && acc >= lowCount) { lo = b; loFound = true; }
    if (acc >= highCount) { hi = b; break; }
  }
  const low = minValue + lo / scale;
  const high = minValue + (hi + 1) / scale;
  const width = Math.max(MIN_WIDTH, high - low);
  return { center: low + width / 2, width };
}

export function presetVoi(preset: VoiPreset, frame: VoiFrame): Voi {
  if (preset.fixed) return { ...preset.fixed };
  switch (preset.id) {
    case 'auto': return autoVoi(frame);
    case 'full': return fullRangeVoi(frame);
    case 'robust': return percentileVoi(frame);
    case 'robust5': return percentileVoi(frame, 5, 95);
    default: return fullRangeVoi(frame);
  }
}

/**
 * Apply a mouse drag to a window: horizontal changes width, vertical changes centre (drag down = brighter
 * is the common radiology convention: moving down lowers the level). Sensitivity scales with the frame's range
 * so a 4096-range CT and a 300-range MR feel the same.
 */
export function dragVoi(start: Voi, dx: number, dy: number, valueRange: number): Voi {
  const perPixel = Math.max(valueRange, 1) / 512;
  return {
    width: Math.max(MIN_WIDTH, start.width + dx * perPixel),
    center: start.center - dy * perPixel,
  };
}

/**
 * Write grey RGBA for `frame` under `voi` into `out` (length 4 * pixels.length).
 * MONOCHROME1 frames are displayed inverted, and `invert` flips that again.
 */
export function renderVoi(frame: VoiFrame, voi: Voi, invert: boolean, out: Uint8ClampedArray): void {
  const { pixels, minValue, maxValue } = frame;
  const n = pixels.length;
  if (out.length < n * 4) throw new RangeError(`output buffer too small: ${out.length} < ${n * 4}`);
  const flip = invert !== (frame.photometricInterpretation === 'MONOCHROME1');
  const w = Math.max(MIN_WIDTH, voi.width);
  // DICOM linear VOI function, output range [0, 255].
  const c = voi.center - 0.5;
  const lowEdge = c - (w - 1) / 2;
  const highEdge = c + (w - 1) / 2;
  const slope = w > 1 ? 255 / (w - 1) : 0;

  const map = (x: number): number => {
    let y: number;
    if (x <= lowEdge) y = 0;
    else if (x > highEdge) y = 255;
    else y = ((x - c) / (w - 1) + 0.5) * 255;
    return flip ? 255 - y : y;
  };

  const range = maxValue - minValue;
  const useLut = Number.isInteger(minValue) && Number.isInteger(maxValue) && range >= 0 && range <= 65536 &&
    n > range && isIntegerValued(pixels);
  if (useLut) {
    const lut = new Uint8ClampedArray(range + 1);
    for (let v = 0; v <= range; v++) lut[v] = map(v + minValue);
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      const g = lut[pixels[i] - minValue];
      out[j] = g; out[j + 1] = g; out[j + 2] = g; out[j + 3] = 255;
    }
    return;
  }
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const x = pixels[i];
    let y = x <= lowEdge ? 0 : x > highEdge ? 255 : (x - c) * slope + 127.5;
    if (flip) y = 255 - y;
    out[j] = y; out[j + 1] = y; out[j + 2] = y; out[j + 3] = 255;
  }
}

const integerValued = new WeakMap<Float32Array, boolean>();

/** True when every value is an integer (a stride sample first to fail fast; remembered per array). */
function isIntegerValued(pixels: Float32Array): boolean {
  const known = integerValued.get(pixels);
  if (known !== undefined) return known;
  let result = true;
  for (let i = 0; i < pixels.length && result; i += 97) if (!Number.isInteger(pixels[i])) result = false;
  for (let i = 0; i < pixels.length && result; i++) if (!Number.isInteger(pixels[i])) result = false;
  integerValued.set(pixels, result);
  return result;
}
