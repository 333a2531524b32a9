/**
 * The robustness benchmark's report: from the per-image records (results.jsonl) to summary.json, REPORT.md and SVG
 * plots (robust accuracy vs ε per defence, worst case and per attack; ROC of the detector). Pure functions of the
 * records, so a report can be regenerated from a partial (resumed) run at any time.
 *
 * Scoring, per defence D:
 *  - undefended / purify-all / adaptive: correct iff the defence's label equals the true label;
 *  - mae-reject (the detector alone, flagged scans are refused): a clean scan counts as correct iff it is NOT
 *    flagged and correctly classified (a refused scan is no diagnosis); an adversarial scan counts as defended iff
 *    it is flagged OR still correctly classified (the attack did not get a wrong diagnosis through).
 * Which adversarials D is scored on: classifier-only attacks (target 'classifier') are scored on every defence
 * (transfer: the paper's threat model); adaptive attacks only on the defence they targeted. Worst case at ε: an
 * image counts as robust only if it resisted every attack of that ε scored for D (images with all of them done).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { auroc, quantileThreshold } from '../../inference/pipeline/calibrate.js';
import { groupBootstrapCI, type GroupCI } from './group-bootstrap.js';

export const DEFENCES = ['undefended', 'mae-reject', 'purify-all', 'adaptive'] as const;
export type Defence = (typeof DEFENCES)[number];

export interface DefenceEval {
  /** Predicted class index. */
  pred: number;
  /** Flagged by the detector (mae-reject / adaptive only). */
  flagged?: boolean;
}

export interface CleanRecord {
  kind: 'clean';
  image: number;
  /** Near-duplicate group of the image (absent in reports written by earlier versions: then no intervals). */
  group?: number;
  path: string;
  label: number;
  score: number;
  evals: Record<Defence, DefenceEval>;
  /** Per-image latency of each defence on this image's batch (ms). */
  latencyMs: Record<Defence, number>;
}

export interface AdvRecord {
  kind: 'adv';
  attack: string;
  norm: 'linf' | 'l2';
  eps: number;
  epsLabel: string;
  /** 'classifier' (non-adaptive) or the defence the attack differentiated through. */
  target: 'classifier' | 'purify-all' | 'adaptive' | 'mae-reject';
  image: number;
  label: number;
  score: number;
  linf: number;
  l2: number;
  evals: Record<Defence, DefenceEval>;
  attackMs: number;
}

export type BenchRecord = CleanRecord | AdvRecord;

export function correctClean(d: Defence, e: DefenceEval, label: number): boolean {
  return d === 'mae-reject' ? !e.flagged && e.pred === label : e.pred === label;
}
export function robustAdv(d: Defence, e: DefenceEval, label: number): boolean {
  return d === 'mae-reject' ? !!e.flagged || e.pred === label : e.pred === label;
}

export function scoredFor(r: AdvRecord, d: Defence): boolean {
  return r.target === 'classifier' || r.target === d;
}

export interface Cell { n: number; robust: number; acc: number }
export interface DetectionRow { attack: string; epsLabel: string; target: string; n: number; auroc: number; tprAtCalibrated: number; tprAt5FprTest: number }

export interface Summary {
  meta: Record<string, unknown>;
  clean: {
    n: number; accuracy: Record<Defence, number>; flagRate: number; meanLatencyMs: Record<Defence, number>;
    /** 95 % group-bootstrap intervals (group-bootstrap.ts), when every clean record names its group. */
    ci95?: { accuracy: Record<Defence, GroupCI>; flagRate: GroupCI };
  };
  /** robust[attack][epsLabel][defence] */
  robust: Record<string, Record<string, Partial<Record<Defence, Cell>>>>;
  /** worst[norm][epsLabel][defence] */
  worst: Record<string, Record<string, Partial<Record<Defence, Cell>>>>;
  detection: DetectionRow[];
  calibratedThreshold: number | null;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function summarise(records: readonly BenchRecord[], meta: Record<string, unknown>, threshold: number | null): Summary {
  const clean = records.filter((r): r is CleanRecord => r.kind === 'clean');
  const adv = records.filter((r): r is AdvRecord => r.kind === 'adv');
  const acc = {} as Record<Defence, number>, lat = {} as Record<Defence, number>;
  for (const d of DEFENCES) {
    acc[d] = mean(clean.map((r) => (correctClean(d, r.evals[d], r.label) ? 1 : 0)));
    lat[d] = mean(clean.map((r) => r.latencyMs[d]));
  }
  const flagRate = mean(clean.map((r) => (r.evals.adaptive.flagged ? 1 : 0)));
  let ci95: Summary['clean']['ci95'];
  if (clean.length && clean.every((r) => r.group !== undefined)) {
    const groups = clean.map((r) => r.group!);
    const ciAcc = {} as Record<Defence, GroupCI>;
    for (const d of DEFENCES) ciAcc[d] = groupBootstrapCI(clean.map((r) => (correctClean(d, r.evals[d], r.label) ? 1 : 0)), groups);
    ci95 = { accuracy: ciAcc, flagRate: groupBootstrapCI(clean.map((r) => (r.evals.adaptive.flagged ? 1 : 0)), groups) };
  }

  const robust: Summary['robust'] = {};
  const worstSets: Record<string, Record<string, Record<string, Map<number, boolean[]>>>> = {};
  const attacksPerEps: Record<string, Record<string, Record<string, Set<string>>>> = {};
  for (const r of adv) {
    for (const d of DEFENCES) {
      if (!scoredFor(r, d)) continue;
      const cell = (((robust[r.attack] ??= {})[r.epsLabel] ??= {})[d] ??= { n: 0, robust: 0, acc: 0 });
      const ok = robustAdv(d, r.evals[d], r.label);
      cell.n++;
      if (ok) cell.robust++;
      const bucket = (((worstSets[r.norm] ??= {})[r.epsLabel] ??= {})[d] ??= new Map());
      const list = bucket.get(r.image) ?? [];
      list.push(ok);
      bucket.set(r.image, list);
      (((attacksPerEps[r.norm] ??= {})[r.epsLabel] ??= {})[d] ??= new Set()).add(`${r.attack}→${r.target}`);
    }
  }
  for (const a of Object.values(robust)) for (const e of Object.values(a)) for (const c of Object.values(e)) c!.acc = c!.robust / c!.n;
  const worst: Summary['worst'] = {};
  for (const [norm, byEps] of Object.entries(worstSets)) for (const [eps, byD] of Object.entries(byEps)) for (const [d, imgs] of Object.entries(byD)) {
    const need = attacksPerEps[norm][eps][d].size;
    const complete = [...imgs.values()].filter((l) => l.length === need);
    if (!complete.length) continue;
    const r = complete.filter((l) => l.every(Boolean)).length;
    ((worst[norm] ??= {})[eps] ??= {})[d as Defence] = { n: complete.length, robust: r, acc: r / complete.length };
  }

  const cleanScores = clean.map((r) => r.score);
  const thr5 = cleanScores.length ? quantileThreshold(cleanScores, 0.05) : NaN;
  const groups = new Map<string, AdvRecord[]>();
  for (const r of adv) {
    const k = `${r.attack}|${r.epsLabel}|${r.target}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const detection: DetectionRow[] = [];
  for (const [k, rs] of groups) {
    const [attack, epsLabel, target] = k.split('|');
    const s = rs.map((r) => r.score);
    detection.push({
      attack, epsLabel, target, n: rs.length,
      auroc: cleanScores.length ? auroc(cleanScores, s) : NaN,
      tprAtCalibrated: threshold === null ? NaN : mean(s.map((v) => (v > threshold ? 1 : 0))),
      tprAt5FprTest: mean(s.map((v) => (v > thr5 ? 1 : 0))),
    });
  }
  return { meta, clean: { n: clean.length, accuracy: acc, flagRate, meanLatencyMs: lat, ...(ci95 ? { ci95 } : {}) }, robust, worst, detection, calibratedThreshold: threshold };
}

const pc = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : (100 * x).toFixed(1));

export function markdown(s: Summary): string {
  const L: string[] = [];
  const m = s.meta;
  L.push(`# Robustness report`, '');
  L.push(`- data: ${String(m.data)} — split ${String(m.split)}, ${s.clean.n} images${m.caveat ? ` (**${String(m.caveat)}**)` : ''}`);
  L.push(`- models: ${String(m.models)}${m.trained ? '' : ' — **untrained seeded development models: these numbers mean nothing about the method**'}`);
  L.push(`- attacks: ${String(m.attackSummary)}`);
  L.push(`- written ${String(m.date)}; ${String(m.complete)}`, '');
  const ci = s.clean.ci95;
  const range = (c: GroupCI | undefined) => (c ? `${pc(c.lo)}–${pc(c.hi)}` : '—');
  L.push('## Clean', '', '| defence | clean accuracy % | 95 % CI (group bootstrap) | mean latency ms/image |', '|---|---|---|---|');
  for (const d of DEFENCES) L.push(`| ${d} | ${pc(s.clean.accuracy[d])} | ${range(ci?.accuracy[d])} | ${s.clean.meanLatencyMs[d]?.toFixed(1) ?? '—'} |`);
  L.push('', `Detector flag rate on clean images: ${pc(s.clean.flagRate)} %${ci ? ` (95 % CI ${range(ci.flagRate)}, resampling the ${ci.flagRate.groups} near-duplicate groups)` : ''} (calibrated threshold ${s.calibratedThreshold ?? '—'}).`, '');
  L.push('## Robust accuracy (%)', '', 'Rows: attack and ε; columns: defence. Classifier-only attacks are scored on every defence (transfer); adaptive attacks only on the defence they differentiate through. mae-reject counts a flagged adversarial as defended.', '');
  L.push(`| attack | ε | ${DEFENCES.join(' | ')} | n |`, `|---|---|${DEFENCES.map(() => '---').join('|')}|---|`);
  for (const [a, byEps] of Object.entries(s.robust)) for (const [e, byD] of Object.entries(byEps)) {
    const n = Math.max(...Object.values(byD).map((c) => c!.n));
    L.push(`| ${a} | ${e} | ${DEFENCES.map((d) => pc(byD[d]?.acc)).join(' | ')} | ${n} |`);
  }
  L.push('', '### Worst case over the attacks run at each ε', '', `| norm | ε | ${DEFENCES.join(' | ')} |`, `|---|---|${DEFENCES.map(() => '---').join('|')}|`);
  for (const [norm, byEps] of Object.entries(s.worst)) for (const [e, byD] of Object.entries(byEps)) L.push(`| ${norm} | ${e} | ${DEFENCES.map((d) => (byD[d] ? `${pc(byD[d]!.acc)} (n=${byD[d]!.n})` : '—')).join(' | ')} |`);
  L.push('', '## Detection (adversarial vs clean scores of the same images)', '', '| attack | ε | target | n | AUROC | TPR at calibrated threshold % | TPR at 5% FPR (test clean) % |', '|---|---|---|---|---|---|---|');
  for (const r of s.detection) L.push(`| ${r.attack} | ${r.epsLabel} | ${r.target} | ${r.n} | ${Number.isNaN(r.auroc) ? '—' : r.auroc.toFixed(3)} | ${pc(r.tprAtCalibrated)} | ${pc(r.tprAt5FprTest)} |`);
  L.push('', 'Plots: `robust-vs-eps-*.svg`, `roc.svg`.', '');
  return L.join('\n');
}

// ---- SVG -------------------------------------------------------------------------------------------------------

const COLORS = ['#1b6ca8', '#d1495b', '#2e933c', '#8e44ad', '#e67e22', '#555555'];
const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface Series { name: string; points: Array<[number, number]> }

/** A line chart with axes, ticks and a legend; x and y ranges given. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], xr: [number, number], yr: [number, number], xTicks: Array<[number, string]>, diagonal = false): string {
  const W = 560, H = 380, l = 60, r = 170, t = 36, b = 50, pw = W - l - r, ph = H - t - b;
  const X = (x: number) => l + ((x - xr[0]) / (xr[1] - xr[0] || 1)) * pw;
  const Y = (y: number) => t + ph - ((y - yr[0]) / (yr[1] - yr[0] || 1)) * ph;
  const o: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`];
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2 - r / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  o.push(`<line x1="${l}" y1="${t + ph}" x2="${l + pw}" y2="${t + ph}" stroke="black"/>`, `<line x1="${l}" y1="${t}" x2="${l}" y2="${t + ph}" stroke="black"/>`);
  for (const [v, lab] of xTicks) o.push(`<line x1="${X(v)}" y1="${t + ph}" x2="${X(v)}" y2="${t + ph + 4}" stroke="black"/><text x="${X(v)}" y="${t + ph + 17}" text-anchor="middle">${esc(lab)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = yr[0] + ((yr[1] - yr[0]) * i) / 5;
    o.push(`<line x1="${l - 4}" y1="${Y(v)}" x2="${l + pw}" y2="${Y(v)}" stroke="${i ? '#e5e5e5' : 'black'}"/><text x="${l - 7}" y="${Y(v) + 4}" text-anchor="end">${+v.toFixed(2)}</text>`);
  }
  o.push(`<text x="${l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>`, `<text transform="translate(16 ${t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  if (diagonal) o.push(`<line x1="${X(xr[0])}" y1="${Y(yr[0])}" x2="${X(xr[1])}" y2="${Y(yr[1])}" stroke="#aaa" stroke-dasharray="4 4"/>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    if (s.points.length) o.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    if (!diagonal) for (const [x, y] of s.points) o.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${c}"/>`);
    o.push(`<rect x="${l + pw + 14}" y="${t + 8 + i * 18}" width="12" height="3" fill="${c}"/><text x="${l + pw + 32}" y="${t + 13 + i * 18}">${esc(s.name)}</text>`);
  });
  o.push('</svg>');
  return o.join('\n');
}

/** ROC points (FPR, TPR) of pos vs neg scores, flagging score > threshold, thresholds at every distinct score. */
export function rocPoints(neg: readonly number[], pos: readonly number[]): Array<[number, number]> {
  const ths = [...new Set([...neg, ...pos])].sort((a, b) => b - a);
  const pts: Array<[number, number]> = [[0, 0]];
  for (const th of ths) pts.push([neg.filter((v) => v >= th).length / (neg.length || 1), pos.filter((v) => v >= th).length / (pos.length || 1)]);
  pts.push([1, 1]);
  return pts;
}

/** Writes summary.json, REPORT.md and the SVGs into dir; returns the file names. */
export function writeReport(dir: string, records: readonly BenchRecord[], meta: Record<string, unknown>, threshold: number | null): { summary: Summary; files: string[] } {
  mkdirSync(dir, { recursive: true });
  const s = summarise(records, meta, threshold);
  const files = ['summary.json', 'REPORT.md'];
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`);
  writeFileSync(join(dir, 'REPORT.md'), markdown(s));
  const adv = records.filter((r): r is AdvRecord => r.kind === 'adv');
  const epsOf = (label: string) => adv.find((r) => r.epsLabel === label)?.eps ?? NaN;
  const plot = (file: string, title: string, byEps: Record<string, Partial<Record<Defence, Cell>>>, xLabel: string) => {
    const eps = Object.keys(byEps).map((e) => [epsOf(e), e] as [number, string]).filter(([v]) => Number.isFinite(v)).sort((a, b) => a[0] - b[0]);
    if (!eps.length) return;
    const series = DEFENCES.map((d) => ({ name: d, points: [...(Number.isNaN(s.clean.accuracy[d]) ? [] : [[0, s.clean.accuracy[d]] as [number, number]]), ...eps.filter(([, e]) => byEps[e][d]).map(([v, e]) => [v, byEps[e][d]!.acc] as [number, number])] }))
      .filter((q) => q.points.length > 1);
    const xmax = eps[eps.length - 1][0];
    writeFileSync(join(dir, file), lineChart(title, xLabel, 'accuracy', series, [0, xmax], [0, 1], [[0, '0'], ...eps.map(([v, e]) => [v, e] as [number, string])]));
    files.push(file);
  };
  for (const [norm, byEps] of Object.entries(s.worst)) plot(`robust-vs-eps-worst-${norm}.svg`, `Worst-case robust accuracy (${norm}) vs ε`, byEps, `ε (${norm}, pixel scale [0,1])`);
  for (const [a, byEps] of Object.entries(s.robust)) plot(`robust-vs-eps-${a}.svg`, `Robust accuracy under ${a}`, byEps, 'ε (pixel scale [0,1])');
  const clean = records.filter((r): r is CleanRecord => r.kind === 'clean').map((r) => r.score);
  if (clean.length) {
    // one curve per attack, at the largest ε run, adversarials aimed at the adaptive pipeline where there are any
    const curves: Series[] = [];
    for (const attack of [...new Set(adv.map((r) => r.attack))]) {
      const rs = adv.filter((r) => r.attack === attack);
      const target = rs.some((r) => r.target === 'adaptive') ? 'adaptive' : rs[0].target;
      const top = Math.max(...rs.filter((r) => r.target === target).map((r) => r.eps));
      const sel = rs.filter((r) => r.target === target && r.eps === top);
      curves.push({ name: `${attack} ${sel[0].epsLabel}`, points: rocPoints(clean, sel.map((r) => r.score)) });
    }
    if (curves.length) {
      writeFileSync(join(dir, 'roc.svg'), lineChart('Detector ROC: clean vs adversarial', 'false-positive rate (clean flagged)', 'true-positive rate (adversarial flagged)', curves, [0, 1], [0, 1], [0, 0.25, 0.5, 0.75, 1].map((v) => [v, String(v)]), true));
      files.push('roc.svg');
    }
  }
  return { summary: s, files };
}
