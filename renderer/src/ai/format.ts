/** Text for the AI panel: labels, probabilities, scores, model lines, timings and readable API errors. DOM-free. */
import type { ScanModelInfo, ScanResult } from '../../../electron/features/api.js';
import { formatScaleNumber } from './colormap.js';

export function labelText(label: ScanResult['label']): string {
  return label === 'tumour' ? 'Tumour' : 'No tumour';
}

/** Probability as a percentage with one decimal, e.g. 0.8274 → "82.7 %". */
export function formatPercent(p: number | undefined): string {
  return p === undefined || !Number.isFinite(p) ? '—' : `${(100 * p).toFixed(1)} %`;
}

/** The calibration's expected false-flag rate on clean scans of groups it never saw (contract: unseenGroupFlagRate). */
export function expectedFlagLine(t: { mean: number; sd: number; p95: number }): string {
  return `False flags expected on new patients' clean scans: ${formatPercent(t.mean)} ± ${formatPercent(t.sd)} (≤ ${formatPercent(t.p95)} in 95 % of resamples)`;
}

/** The classifier's held-out figures (contract: classifierHeldOut), so a reader can weigh a call. */
export function heldOutLine(h: { split: string; count: number; accuracy: number; accuracyCi95: [number, number] | null; sensitivity: number; specificity: number }): string {
  const ci = h.accuracyCi95 ? ` (95 % CI ${formatPercent(h.accuracyCi95[0])}–${formatPercent(h.accuracyCi95[1])})` : '';
  return `Classifier on ${h.count} held-out slices (${h.split}): accuracy ${formatPercent(h.accuracy)}${ci} · sensitivity ${formatPercent(h.sensitivity)} · specificity ${formatPercent(h.specificity)}`;
}

/** Probability of the predicted class (softmax over [no-tumour, tumour]). */
export function predictedProbability(r: Pick<ScanResult, 'label' | 'probabilities'>): number | undefined {
  return r.probabilities[r.label === 'tumour' ? 1 : 0];
}

/** "score 0.0551 > threshold 0.0387 (mse)" or with ≤ when not over. */
export function scoreLine(r: Pick<ScanResult, 'score' | 'threshold' | 'scoreKind' | 'flagged'>): string {
  if (r.score === null) return 'detector not run';
  const s = `score ${formatScaleNumber(r.score)}`;
  if (r.threshold === null) return `${s}${r.scoreKind ? ` (${r.scoreKind})` : ''}, no calibrated threshold`;
  const rel = r.score > r.threshold ? '>' : '≤';
  return `${s} ${rel} threshold ${formatScaleNumber(r.threshold)}${r.scoreKind ? ` (${r.scoreKind})` : ''}`;
}

/** "purified from t* = 92, 4 DDIM steps" or "not purified". */
export function purifyLine(r: Pick<ScanResult, 'tStar' | 'steps'>): string {
  return r.tStar > 0 ? `purified from t* = ${r.tStar}, ${r.steps} DDIM step${r.steps === 1 ? '' : 's'}` : 'not purified';
}

export function modelLine(m: ScanModelInfo): string {
  return `${m.name} ${m.version} · sha256 ${m.sha256.slice(0, 12)}`;
}

/** Names of the models running on untrained (seeded development) weights. */
export function untrainedModels(models: readonly ScanModelInfo[] | undefined): string[] {
  return (models ?? []).filter((m) => !m.trained).map((m) => m.name);
}

export function formatMs(ms: number): string {
  return !Number.isFinite(ms) ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function timingLines(t: ScanResult['timings']): Array<[string, string]> {
  return [
    ['preprocess', formatMs(t.preprocessMs)],
    ['detect', formatMs(t.detectMs)],
    ['purify', formatMs(t.purifyMs)],
    ['classify', formatMs(t.classifyMs)],
    ['total', `${formatMs(t.totalMs)}${t.batchSize > 1 ? ` (batch of ${t.batchSize})` : ''}`],
  ];
}

const MAX_ERROR_CHARS = 300;

/**
 * A readable message for a failed scan.* call: the API error's message (its code turned into words), first line
 * only and shortened, so a stack trace or a long dump never reaches the panel.
 */
export function scanErrorMessage(e: unknown): string {
  const o = (e && typeof e === 'object' ? e : {}) as { code?: unknown; message?: unknown };
  const raw = typeof o.message === 'string' && o.message.trim() ? o.message : typeof e === 'string' ? e : 'Unknown error';
  let line = raw.split('\n').find((l) => l.trim())?.trim() ?? 'Unknown error';
  if (line.length > MAX_ERROR_CHARS) line = `${line.slice(0, MAX_ERROR_CHARS - 1)}…`;
  const prefix: Record<string, string> = {
    NOT_FOUND: 'Not found',
    BAD_REQUEST: 'Cannot scan',
    FORBIDDEN: 'Not allowed',
    UNAUTHORIZED: 'Not signed in',
    INTERNAL: 'Scan failed',
  };
  const p = typeof o.code === 'string' ? prefix[o.code] : undefined;
  return p && !line.toLowerCase().startsWith(p.toLowerCase()) ? `${p}: ${line}` : line;
}
