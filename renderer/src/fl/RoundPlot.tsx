/**
 * The round-history plot of the FL page: an inline SVG over the handled rounds (the last 30). Upper panel: training
 * loss (orange, left axis from 0) and evaluation accuracy (green, right axis 0–1). Lower strip: examples per
 * training round (bars). Refused and failed rounds are marked ✕ on the x axis, with the reason as a tooltip.
 */
import type { FlRound } from '../../../electron/features/api.js';

const W = 640, H = 230, L = 44, R = 40, T = 12, B = 22, STRIP = 40, GAP = 14;

export function RoundPlot({ rounds }: { rounds: FlRound[] }) {
  // one x slot per Flower round (run + round), in order of first appearance
  const keys: string[] = [];
  const byKey = new Map<string, { train?: FlRound; evaluate?: FlRound; bad: FlRound[] }>();
  for (const r of rounds) {
    const k = `${r.runId}/${r.round}`;
    if (!byKey.has(k)) { keys.push(k); byKey.set(k, { bad: [] }); }
    const slot = byKey.get(k)!;
    if (r.outcome !== 'ok') slot.bad.push(r);
    else if (r.kind.startsWith('train')) slot.train = r;
    else if (r.kind.startsWith('evaluate')) slot.evaluate = r;
  }
  const shown = keys.slice(-30);
  if (shown.length === 0) {
    return <div className="fl-plot-empty muted" data-testid="fl-plot-empty">No rounds yet. They appear here as the federation runs.</div>;
  }
  const slots = shown.map((k) => byKey.get(k)!);
  const losses = slots.map((s) => s.train?.loss ?? null);
  const accs = slots.map((s) => s.evaluate?.accuracy ?? null);
  const examples = slots.map((s) => s.train?.examples ?? 0);
  const maxLoss = Math.max(1e-6, ...losses.filter((x): x is number => x !== null));
  const maxEx = Math.max(1, ...examples);
  const pw = W - L - R, ph = H - T - B - STRIP - GAP;
  const pad = Math.min(24, pw / shown.length / 2);
  const x = (i: number) => L + pad + (shown.length === 1 ? (pw - 2 * pad) / 2 : (i * (pw - 2 * pad)) / (shown.length - 1));
  const yLoss = (v: number) => T + ph - (v / maxLoss) * ph;
  const yAcc = (v: number) => T + ph - v * ph;
  const stripTop = T + ph + GAP;
  const yEx = (v: number) => stripTop + STRIP - (v / maxEx) * STRIP;
  const barW = Math.max(4, Math.min(24, pw / shown.length / 2));
  const line = (vals: (number | null)[], y: (v: number) => number) =>
    vals.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <figure className="fl-plot" data-testid="fl-plot" data-rounds={shown.length}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Round history: ${shown.length} round(s)`}>
        {ticks.map((f) => (
          <g key={f}>
            <line x1={L} x2={W - R} y1={yAcc(f)} y2={yAcc(f)} className="grid" />
            <text x={L - 4} y={yAcc(f) + 4} textAnchor="end" className="axis loss">{(f * maxLoss).toPrecision(2)}</text>
            <text x={W - R + 4} y={yAcc(f) + 4} className="axis acc">{f.toFixed(2)}</text>
          </g>
        ))}
        <line x1={L} x2={W - R} y1={stripTop + STRIP} y2={stripTop + STRIP} className="grid" />
        <text x={W - R + 4} y={stripTop + 8} className="axis">{maxEx}</text>
        <text x={L - 4} y={stripTop + STRIP / 2 + 4} textAnchor="end" className="axis">n</text>
        {examples.map((n, i) => n > 0 && (
          <rect key={`b${i}`} x={x(i) - barW / 2} y={yEx(n)} width={barW} height={stripTop + STRIP - yEx(n)} className="bar" data-testid="fl-bar-examples"><title>{`${n} examples`}</title></rect>
        ))}
        <polyline points={line(losses, yLoss)} className="loss" fill="none" />
        <polyline points={line(accs, yAcc)} className="acc" fill="none" />
        {losses.map((v, i) => v !== null && <circle key={`l${i}`} cx={x(i)} cy={yLoss(v)} r={3.5} className="loss" data-testid="fl-point-loss"><title>{`loss ${v.toFixed(3)}`}</title></circle>)}
        {accs.map((v, i) => v !== null && <circle key={`a${i}`} cx={x(i)} cy={yAcc(v)} r={3.5} className="acc" data-testid="fl-point-accuracy"><title>{`accuracy ${v.toFixed(3)}`}</title></circle>)}
        {shown.map((k, i) => (
          <text key={k} x={x(i)} y={H - 10} textAnchor="middle" className={slots[i].bad.length ? 'axis bad' : 'axis'}>
            {k.split('/')[1]}{slots[i].bad.length ? ' ✕' : ''}
            <title>{`run ${k.split('/')[0]}, round ${k.split('/')[1]}${slots[i].bad.map((b) => `\n${b.kind}: ${b.outcome}${b.error ? ` (${b.error})` : ''}`).join('')}`}</title>
          </text>
        ))}
      </svg>
      <figcaption className="fl-legend">
        <span className="key loss">training loss (left axis)</span>
        <span className="key acc">evaluation accuracy (right axis)</span>
        <span className="key bar">examples per training round</span>
        <span className="muted">x: Flower round</span>
      </figcaption>
    </figure>
  );
}
