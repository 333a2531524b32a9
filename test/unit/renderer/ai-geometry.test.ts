/** The AI overlay geometry matches the scan's letterbox preprocessing, so overlays land on the anatomy they describe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameToModel, letterboxRect, modelToFrame } from '../../../renderer/src/ai/geometry.js';
import { letterboxResize } from '../../../native-models/src/inference/image/resize.js';

/** A black columns×rows frame with a bright w×h block at (x0, y0); returns where the model (size²) sees its peak. */
function peakAfterResize(columns: number, rows: number, x0: number, y0: number, w: number, h: number, size: number) {
  const data = new Float32Array(columns * rows);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data[y * columns + x] = 1;
  const model = letterboxResize({ width: columns, height: rows, data }, size);
  // Centroid of the model image's mass (the block, blurred by resampling).
  let sx = 0, sy = 0, s = 0;
  for (let my = 0; my < size; my++) for (let mx = 0; mx < size; mx++) {
    const v = model[my * size + mx];
    sx += v * (mx + 0.5); sy += v * (my + 0.5); s += v;
  }
  return { mx: sx / s - 0.5, my: sy / s - 0.5 };
}

test('letterbox square: centred on the long axis, floor offsets as in resize.ts', () => {
  assert.deepEqual(letterboxRect(256, 256), { x: 0, y: 0, side: 256 });
  assert.deepEqual(letterboxRect(100, 60), { x: 0, y: -20, side: 100 });
  assert.deepEqual(letterboxRect(61, 100), { x: -19, y: 0, side: 100 }); // floor(39 / 2) = 19
  assert.throws(() => letterboxRect(0, 10), RangeError);
});

for (const [columns, rows, x0, y0] of [[100, 60, 80, 10], [60, 100, 5, 85], [181, 217, 120, 40], [64, 64, 10, 50]] as const) {
  test(`a feature at (${x0}, ${y0}) of a ${columns}×${rows} frame maps back onto itself (size 64)`, () => {
    const size = 64;
    const peak = peakAfterResize(columns, rows, x0, y0, 5, 5, size);
    const back = modelToFrame(peak.mx, peak.my, size, columns, rows);
    const tol = letterboxRect(columns, rows).side / size; // one model pixel
    assert.ok(Math.abs(back.x - (x0 + 2.5)) < tol, `x ${back.x} vs ${x0 + 2.5} (tolerance ${tol})`);
    assert.ok(Math.abs(back.y - (y0 + 2.5)) < tol, `y ${back.y} vs ${y0 + 2.5} (tolerance ${tol})`);
  });
}

test('frameToModel inverts modelToFrame at pixel centres, and is −1 outside the square', () => {
  for (const [c, r] of [[100, 60], [60, 100], [64, 64]] as const) {
    for (const [mx, my] of [[0, 0], [63, 63], [17, 40]] as const) {
      const p = modelToFrame(mx, my, 64, c, r);
      assert.deepEqual(frameToModel(p.x, p.y, 64, c, r), { mx, my });
    }
  }
  assert.deepEqual(frameToModel(-1, 50, 64, 100, 100), { mx: -1, my: 32 });
  assert.deepEqual(frameToModel(50, 100.5, 64, 100, 100), { mx: 32, my: -1 });
});
