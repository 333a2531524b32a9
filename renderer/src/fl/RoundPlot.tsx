/**
 * The round-history plot of the FL page: an inline SVG over the handled rounds. Training loss (line, left axis from
 * 0), evaluation accuracy (line, left axis 0–1 when no loss exceeds 1, else its own scale) and examples per training
 * round (bars, right axis). Refused and failed rounds are marked on the x axis.
 */
import type { FlRound } from '../../../electron/features/api.js';

const W = 640, H = 210, L = 44, R = 44, T = 12, B = 28;

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
  const maxLoss = Math.max(1, ...losses.filter((x): x is number => x !== null));
  const maxEx = Math.max(1, ...examples);
  const pw = W - L - R, ph = H - T - B;
  const x = (i: number) => L + (shown.length === 1 ? pw / 2 : (i * pw) / (shown.length - 1));
  const yLeft = (v: number) => T + ph - (v / maxLoss) * ph;
  const yEx = (v: number) => T + ph - (v / maxEx) * ph;
  const barW = Math.max(4, Math.min(24, pw / shown.length / 2));
  const line = (vals: (number | null)[]) =>
    vals.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${yLeft(v).toFixed(1)}`)).filter(Boolean).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * maxLoss);

  return (
    <figure className="fl-plot" data-testid="fl-plot" data-rounds={shown.length}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Round history: ${shown.length} round(s)`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={L} x2={W - R} y1={yLeft(t)} y2={yLeft(t)} className="grid" />
            <text x={L - 4} y={yLeft(t) + 4} textAnchor="end" className="axis">{t.toFixed(2)}</text>
          </g>
        ))}
        <text x={W - R + 4} y={T + 8} className="axis">{maxEx}</text>
        <text x={W - R + 4} y={T + ph} className="axis">0</text>
        {examples.map((n, i) => n > 0 && (
          <rect key={`b${i}`} x={x(i) - barW / 2} y={yEx(n)} width={barW} height={T + ph - yEx(n)} className="bar" data-testid="fl-bar-examples"><title>{`${n} examples`}</title></rect>
        ))}
        <polyline points={line(losses)} className="loss" fill="none" />
        <polyline points={line(accs)} className="acc" fill="none" />
        {losses.map((v, i) => v !== null && <circle key={`l${i}`} cx={x(i)} cy={yLeft(v)} r={3.5} className="loss" data-testid="fl-point-loss"><title>{`loss ${v.toFixed(3)}`}</title></circle>)}
        {accs.map((v, i) => v !== null && <circle key={`a${i}`} cx={x(i)} cy={yLeft(v)} r={3.5} className="acc" data-testid="fl-point-accuracy"><title>{`accuracy ${v.toFixed(3)}`}</title></circle>)}
        {shown.map((k, i) => (
          <text key={k} x={x(i)} y={H - 10} textAnchor="middle" className={slots[i].bad.length ? 'axis bad' : 'axis'}>
            {k.split('/')[1]}{slots[i].bad.length ? ' ✕' : ''}
            <title>{`run ${k.split('/')[0]}, round ${k.split('/')[1]}${slots[i].bad.map((b) => `\n${b.kind}: ${b.outcome}${b.error ? ` (${b.error})` : ''}`).join('')}`}</title>
          </text>
        ))}
      </svg>
      <figcaption className="fl-legend">
        <span className="key loss">training loss</span>
        <span className="key acc">evaluation accuracy</span>
        <span className="key bar">examples (right axis)</span>
        <span className="muted">x: Flower round</span>
      </figcaption>
    </figure>
  );
}
