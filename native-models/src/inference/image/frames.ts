/**
 * Build an ImageDataset from already-decoded frames (e.g. DICOM series decoded by dicom-parser elsewhere), so DICOM
 * cases — such as radiologist-confirmed cases for federated training — go through the same preprocessing as Br35H:
 * map stored values to pixel space [0, 1], letterbox to a square, resize, quantise to 8 bits.
 *
 * Value mapping, per frame:
 *  - with a VOI window (center c, width w; DICOM PS3.3 C.11.2.1.2 linear function): ((v − (c − 0.5)) / (w − 1) + 0.5),
 *    clamped to [0, 1] — this is pixel space, the clamp is the window itself;
 *  - without one: min–max of the frame (a constant frame maps to 0);
 *  - MONOCHROME1 (`invert: true`) is flipped so that high values are bright, as in MONOCHROME2.
 * Apply rescale slope/intercept before passing `pixels` (modality values), as the viewer does.
 */
import { createHash } from 'node:crypto';
import { letterboxResize, quantiseInPlace } from './resize.js';
import { DatasetError, ImageDataset } from '../../core/train/dataset.js';

export interface Frame {
  width: number;
  height: number;
  /** Row-major modality values (after rescale slope/intercept). */
  pixels: ArrayLike<number>;
  window?: { center: number; width: number };
  invert?: boolean;
  /** Identifier for reports (e.g. SOP Instance UID). */
  id: string;
  /** 0 = no tumour, 1 = tumour. */
  label: number;
  /** Group for splitting: frames of one series / patient must share a group. */
  group: number;
}

/** Pixel mapping only: the label and group are not needed (the inference pipeline has none). */
export function frameToUnit(f: Omit<Frame, 'label' | 'group'>): Float32Array {
  const n = f.width * f.height;
  if (!(f.width > 0 && f.height > 0) || f.pixels.length !== n) {
    throw new DatasetError('DATASET_BAD_ARGUMENT', `frame ${f.id}: ${f.pixels.length} values for ${f.width}×${f.height}`);
  }
  const out = new Float32Array(n);
  if (f.window && f.window.width >= 1) {
    const lo = f.window.center - 0.5;
    const span = f.window.width - 1;
    for (let i = 0; i < n; i++) {
      const v = span > 0 ? (f.pixels[i] - lo) / span + 0.5 : f.pixels[i] > lo ? 1 : 0;
      out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  } else {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) { const v = f.pixels[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    const k = hi > lo ? 1 / (hi - lo) : 0;
    for (let i = 0; i < n; i++) out[i] = (f.pixels[i] - lo) * k;
  }
  if (f.invert) for (let i = 0; i < n; i++) out[i] = 1 - out[i];
  return out;
}

/** An ImageDataset from decoded frames (labels and groups supplied by the caller). */
export function datasetFromFrames(frames: Frame[], opts: { name: string; size?: number; source?: string }): ImageDataset {
  const size = opts.size ?? 64;
  if (frames.length === 0) throw new DatasetError('DATASET_EMPTY', 'no frames');
  const ss = size * size;
  const images = new Float32Array(frames.length * ss);
  const fp = createHash('sha256');
  frames.forEach((f, i) => {
    if (f.label !== 0 && f.label !== 1) throw new DatasetError('DATASET_BAD_ARGUMENT', `frame ${f.id}: label must be 0 or 1`);
    const unit = frameToUnit(f);
    letterboxResize({ width: f.width, height: f.height, data: unit }, size, images.subarray(i * ss, (i + 1) * ss));
    fp.update(`${f.id}\t${f.label}\t${f.group}\n`);
  });
  quantiseInPlace(images);
  fp.update(Buffer.from(images.buffer, images.byteOffset, images.byteLength));
  return new ImageDataset(opts.name, size, images, Int32Array.from(frames, (f) => f.label), Int32Array.from(frames, (f) => f.group),
    frames.map((f) => f.id), { source: opts.source ?? 'decoded frames', groupSource: 'caller-supplied groups (series / patient)', fingerprint: fp.digest('hex') });
}
