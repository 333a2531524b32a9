/** A horizontal colour bar with its range written at the ends, drawn from the same colour scale as the overlay. */
import { useEffect, useRef } from 'react';
import { colourBarRgba, formatScaleNumber, type ColourRange, type ScaleKind } from './colormap.js';

const BAR_SAMPLES = 128;

export function ColorBar({ kind, range, label, testId }: { kind: ScaleKind; range: ColourRange; label: string; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(BAR_SAMPLES, 1);
    img.data.set(colourBarRgba(kind, BAR_SAMPLES));
    ctx.putImageData(img, 0, 0);
  }, [kind]);
  const fmt = (v: number) => (kind === 'diverging' && v > 0 ? `+${formatScaleNumber(v)}` : formatScaleNumber(v));
  return (
    <div className="colour-bar" data-testid={testId} data-min={range.min} data-max={range.max}>
      <span className="colour-bar-label">{label}</span>
      <span className="colour-bar-end">{fmt(range.min)}</span>
      <canvas ref={ref} className={`colour-bar-canvas ${kind}`} width={BAR_SAMPLES} height={1} />
      <span className="colour-bar-end">≥{fmt(range.max)}</span>
    </div>
  );
}
