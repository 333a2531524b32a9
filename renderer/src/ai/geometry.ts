/**
 * Where a model-space image (size × size) lies on the DICOM frame it came from.
 *
 * The scan's preprocessing (native-models/src/inference/image/resize.ts letterboxResize, via pipeline/preprocess.ts) pads the
 * columns × rows frame with black to a centred square of side max(columns, rows) — offsets floor((side − w)/2) —
 * and resamples that square to size × size. So the model image covers, in frame pixel coordinates (x right,
 * y down, origin at the frame's top-left corner), the square [−offX, −offY] + side × side, whatever `size` is.
 * Drawing the model image into that square, with the viewport's own transform, lines it up with the anatomy and
 * keeps it in step with pan and zoom. Letterboxing works on pixel indices, so non-square pixel spacing is handled
 * by the viewport's transform exactly as for the frame itself.
 */

export interface FrameRect {
  /** Top-left corner in frame pixel coordinates (≤ 0 on the padded axis). */
  x: number;
  y: number;
  /** Side of the square in frame pixels. */
  side: number;
}

/** The square the model input covers on a columns × rows frame. */
export function letterboxRect(columns: number, rows: number): FrameRect {
  if (!(columns > 0 && rows > 0)) throw new RangeError(`letterboxRect: frame must be at least 1×1, got ${columns}×${rows}`);
  const side = Math.max(columns, rows);
  const x = Math.floor((side - columns) / 2);
  const y = Math.floor((side - rows) / 2);
  return { x: x === 0 ? 0 : -x, y: y === 0 ? 0 : -y, side };
}

/** Frame pixel coordinates (continuous, pixel centres at k + 0.5) of the centre of model pixel (mx, my). */
export function modelToFrame(mx: number, my: number, size: number, columns: number, rows: number): { x: number; y: number } {
  const r = letterboxRect(columns, rows);
  const s = r.side / size;
  return { x: r.x + (mx + 0.5) * s, y: r.y + (my + 0.5) * s };
}

/** The model pixel (integer, or −1 outside the square) covering frame point (x, y) in continuous coordinates. */
export function frameToModel(x: number, y: number, size: number, columns: number, rows: number): { mx: number; my: number } {
  const r = letterboxRect(columns, rows);
  const s = size / r.side;
  const mx = Math.floor((x - r.x) * s);
  const my = Math.floor((y - r.y) * s);
  const inside = (v: number) => (v >= 0 && v < size ? v : -1);
  return { mx: inside(mx), my: inside(my) };
}
