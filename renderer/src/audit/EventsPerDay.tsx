/**
 * Events per day by type, for the filtered range (the last 90 days with events): one stacked bar per UTC day, one
 * colour per event id, with a legend. Plain SVG; the numbers come from `audit.perDay`.
 */
import type { ReactNode } from 'react';

export interface DayCount {
  day: string;
  code: string;
  meaning: string;
  count: number;
}

const COLOURS = ['#4aa3ff', '#ff5c5c', '#46c281', '#ffd27a', '#c792ea', '#ff9f5a', '#5ad1d1', '#a0a8b0'];

export function EventsPerDay({ data }: { data: readonly DayCount[] }) {
  if (data.length === 0) return null;
  const days = [...new Set(data.map((d) => d.day))];
  const codes = [...new Map(data.map((d) => [d.code, d.meaning])).entries()].sort(([a], [b]) => a.localeCompare(b));
  const colour = new Map(codes.map(([c], i) => [c, COLOURS[i % COLOURS.length]!]));
  const totals = new Map<string, number>();
  for (const d of data) totals.set(d.day, (totals.get(d.day) ?? 0) + d.count);
  const max = Math.max(...totals.values());
  const W = 600;
  const H = 70;
  // At least 30 slots, newest at the right, so a few days do not stretch into slabs.
  const bw = W / Math.max(days.length, 30);
  const x0 = W - days.length * bw;
  const bars: ReactNode[] = [];
  days.forEach((day, i) => {
    let y = H;
    for (const [code] of codes) {
      const n = data.find((d) => d.day === day && d.code === code)?.count ?? 0;
      if (n === 0) continue;
      const h = (n / max) * H;
      y -= h;
      bars.push(<rect key={`${day}-${code}`} x={x0 + i * bw + bw * 0.1} y={y} width={bw * 0.8} height={h} fill={colour.get(code)}><title>{`${day}: ${n} × ${code}`}</title></rect>);
    }
  });
  return (
    <figure className="per-day" data-testid="audit-per-day" data-days={days.length}>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`Events per day, ${days[0]} to ${days[days.length - 1]}, up to ${max} a day`}>{bars}</svg>
      <figcaption>
        <span className="muted">Events per day (UTC) {days[0]} – {days[days.length - 1]}, max {max}/day:</span>
        {codes.map(([code, meaning]) => <span key={code} className="per-day-key"><i style={{ background: colour.get(code) }} />{code} {meaning}</span>)}
      </figcaption>
    </figure>
  );
}
