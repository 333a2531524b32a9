/**
 * The drawable layers of one scan result: small size × size canvases (heat overlay of the error map, purified image,
 * difference on the diverging scale), built once per result and cached, plus the colour ranges the legends show.
 * The viewport controller draws them into the letterbox square (geometry.ts) under its own pan/zoom transform.
 */
import type { ScanResult } from '../../../electron/features/api.js';
import { differenceRange, divergingRgba, errorMapRange, greyRgba, heatOverlayRgba, type ColourRange } from './colormap.js';

/** What the viewport shows for a scanned slice: the stored image, or the model's purified image or difference. */
export type AiView = 'original' | 'purified' | 'difference';
export const AI_VIEWS: readonly AiView[] = ['original', 'purified', 'difference'];

export interface ResultRanges {
  errorMap: ColourRange | null;
  difference: ColourRange | null;
}

export interface ResultLayers {
  size: number;
  ranges: ResultRanges;
  heat: HTMLCanvasElement | null;
  purified: HTMLCanvasElement | null;
  difference: HTMLCanvasElement | null;
}

/** Opacity of the error map at the top of its range. */
export const HEAT_MAX_ALPHA = 0.75;

const rangeCache = new WeakMap<ScanResult, ResultRanges>();
const layerCache = new WeakMap<ScanResult, ResultLayers>();

/**
 * The error map's colour scale is one fixed scale for every slice, from the calibration: 0 to this many times the
 * calibrated threshold on the detector's score (the mean squared reconstruction error of a slice), so heat can be
 * compared from slice to slice and a flagged slice looks hotter. Only results without a threshold fall back to a
 * per-slice scale (0 to the map's 99th percentile), and the legend says so.
 */
export const ERROR_SCALE_THRESHOLDS = 10;

/** Whether a result's error map is shown on the calibrated scale (else per slice). */
export function calibratedErrorScale(r: ScanResult): boolean {
  return r.threshold !== null && r.threshold > 0 && r.scoreKind === 'mse';
}

/** Colour ranges of a result's error map and difference (cached per result object). */
export function resultRanges(r: ScanResult): ResultRanges {
  let v = rangeCache.get(r);
  if (!v) {
    const errorMap = !r.errorMap ? null : calibratedErrorScale(r) ? { min: 0, max: ERROR_SCALE_THRESHOLDS * r.threshold! } : errorMapRange(r.errorMap);
    v = { errorMap, difference: r.difference ? differenceRange(r.difference) : null };
    rangeCache.set(r, v);
  }
  return v;
}

/** Whether a result can show a view (purified/difference exist only for purified scans). */
export function hasView(r: ScanResult | undefined, view: AiView): boolean {
  if (view === 'original') return true;
  return !!r && (view === 'purified' ? r.purified !== null : r.difference !== null);
}

function canvasOf(size: number, rgba: Uint8ClampedArray): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const ctx = c.getContext('2d');
  if (!ctx) throw new Error('2D canvas is not available');
  const img = ctx.createImageData(size, size);
  img.data.set(rgba);
  ctx.putImageData(img, 0, 0);
  return c;
}

/** The canvases of a result (cached per result object). */
export function resultLayers(r: ScanResult): ResultLayers {
  let v = layerCache.get(r);
  if (!v) {
    const ranges = resultRanges(r);
    const n = r.size;
    v = {
      ranges,
      size: n,
      heat: r.errorMap && ranges.errorMap ? canvasOf(n, heatOverlayRgba(r.errorMap, ranges.errorMap, HEAT_MAX_ALPHA)) : null,
      purified: r.purified ? canvasOf(n, greyRgba(r.purified)) : null,
      difference: r.difference && ranges.difference ? canvasOf(n, divergingRgba(r.difference, ranges.difference.max)) : null,
    };
    layerCache.set(r, v);
  }
  return v;
}
