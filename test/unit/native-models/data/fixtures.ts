/** Test helpers: write tiny PNG/JPEG files and yes/no dataset folders. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** RGBA bytes from a grey function g(x, y) in [0, 255]. */
export function rgba(w: number, h: number, g: (x: number, y: number) => number, alpha = 255): Buffer {
  const b = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 4;
    b[i] = b[i + 1] = b[i + 2] = Math.round(g(x, y));
    b[i + 3] = alpha;
  }
  return b;
}

export function pngBytes(w: number, h: number, g: (x: number, y: number) => number, alpha = 255): Buffer {
  const png = new PNG({ width: w, height: h });
  rgba(w, h, g, alpha).copy(png.data);
  return PNG.sync.write(png);
}

export function jpegBytes(w: number, h: number, g: (x: number, y: number) => number, quality = 95): Buffer {
  return jpeg.encode({ width: w, height: h, data: rgba(w, h, g) }, quality).data;
}

/**
 * A yes/no folder: `perClass` images per class; files 2k and 2k+1 of a class are near-duplicates (same group).
 * 'yes' images have a bright blob, 'no' images don't. One yes file is a PNG named .jpg. Writes SHA256SUMS + TSV.
 */
export function writeYesNoFolder(dir: string, perClass = 8): void {
  const lines: string[] = ['path\tgroup'];
  const sums: string[] = [];
  let group = 100;
  for (const cls of ['no', 'yes'] as const) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      if (i % 2 === 0) group++;
      const w = 20 + (i % 3) * 4, h = 16 + (i % 2) * 6;
      const g = (x: number, y: number) => {
        const head = (x - w / 2) ** 2 / (w * w / 5) + (y - h / 2) ** 2 / (h * h / 5) < 1 ? 90 : 0;
        const blob = cls === 'yes' && (x - w / 3) ** 2 + (y - h / 3) ** 2 < 9 ? 150 : 0;
        return head + blob;
      };
      const rel = `${cls}/${cls === 'yes' ? 'y' : 'no'}${i}.jpg`;
      const bytes = cls === 'yes' && i === 1 ? pngBytes(w, h, g) : jpegBytes(w, h, g);
      writeFileSync(join(dir, rel), bytes);
      lines.push(`${rel}\t${group}`);
      sums.push(`${createHash('sha256').update(bytes).digest('hex')}  ${rel}`);
    }
  }
  writeFileSync(join(dir, 'NEAR_DUPLICATES.tsv'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'SHA256SUMS'), sums.join('\n') + '\n');
}
