/**
 * Orientation letters and the scale bar's length, as plain maths over patient-space vectors (DICOM LPS). DOM-free.
 */

/** Letters for a direction in LPS: its one or two main axes, largest first (e.g. [0.9, 0.4, 0] → "LP"). */
export function directionLetters(v: readonly number[]): string {
  const axes: Array<[number, string]> = [
    [v[0], v[0] > 0 ? 'L' : 'R'],
    [v[1], v[1] > 0 ? 'P' : 'A'],
    [v[2], v[2] > 0 ? 'H' : 'F'],
  ];
  const len = Math.hypot(v[0], v[1], v[2]);
  if (!(len > 0)) return '';
  return axes
    .filter(([c]) => Math.abs(c) / len > 0.3)
    .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
    .slice(0, 2)
    .map(([, l]) => l)
    .join('');
}

/** Letters at the four edges of the screen, from the patient directions of screen right and screen down. */
export function orientationLabels(right: readonly number[], down: readonly number[]): { left: string; right: string; top: string; bottom: string } {
  const neg = (v: readonly number[]) => v.map((x) => -x);
  return { right: directionLetters(right), left: directionLetters(neg(right)), bottom: directionLetters(down), top: directionLetters(neg(down)) };
}

const NICE_MM = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/** The longest "nice" length (mm) whose bar fits in `maxCss` CSS pixels at `cssPerMm`; null when none does. */
export function scaleBarLength(cssPerMm: number, maxCss: number): { mm: number; label: string } | null {
  if (!(cssPerMm > 0) || !(maxCss > 0)) return null;
  let best: number | null = null;
  for (const mm of NICE_MM) if (mm * cssPerMm <= maxCss) best = mm;
  if (best === null) return null;
  return { mm: best, label: best >= 10 ? `${best / 10} cm` : `${best} mm` };
}
