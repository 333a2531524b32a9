/**
 * Preview images for model cards: a grid of grey tiles (pixel values in [0, 1], clamped) written as an 8-bit PNG,
 * each tile enlarged by nearest-neighbour `scale` and separated by a mid-grey gutter.
 */
import { PNG } from 'pngjs';

/** rows[r][c] is a size × size image; all rows have the same number of tiles. */
export function gridPng(rows: Float32Array[][], size: number, scale = 2, gutter = 2): Uint8Array {
  const nr = rows.length, nc = rows[0]?.length ?? 0;
  if (nr === 0 || nc === 0 || rows.some((r) => r.length !== nc || r.some((t) => t.length !== size * size))) {
    throw new RangeError(`gridPng: need a non-empty rectangular grid of ${size}×${size} tiles`);
  }
  const tile = size * scale;
  const width = nc * tile + (nc + 1) * gutter, height = nr * tile + (nr + 1) * gutter;
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  png.data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = 128;
    png.data[i * 4 + 3] = 255;
  }
  for (let r = 0; r < nr; r++) for (let c = 0; c < nc; c++) {
    const img = rows[r][c];
    const ox = gutter + c * (tile + gutter), oy = gutter + r * (tile + gutter);
    for (let y = 0; y < tile; y++) for (let x = 0; x < tile; x++) {
      const v = img[Math.floor(y / scale) * size + Math.floor(x / scale)];
      const g = Math.round(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
      const o = ((oy + y) * width + ox + x) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = g;
    }
  }
  return PNG.sync.write(png, { colorType: 0 });
}
