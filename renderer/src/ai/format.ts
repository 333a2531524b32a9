/** Text for the AI panel: labels, probabilities, scores, model lines, timings and readable API errors. DOM-free. */
import type { DetectorEvidence, ScanModelInfo, ScanResult, ScanState, ScanThresholds } from '../../../electron/features/api.js';
import { formatScaleNumber } from './colormap.js';

export function labelText(label: ScanResult['label']): string {
  return label === null ? 'No reading' : label === 'tumour' ? 'Tumour' : 'No tumour';
}

/** The headline of each answer state, as the panel, the slice marks and the audit reader see it. */
export const STATE_TEXT: Readonly<Record<ScanState, string>> = {
  answered: 'Answered',
  'outside-intended-use': 'Outside intended use',
  'unlike-training-data': 'Unlike the training data',
};

/** One sentence under the headline saying what the state means for the reader. */
export function stateLine(r: Pick<ScanResult, 'state' | 'intendedUse'>): string {
  if (r.state === 'outside-intended-use') {
    const reasons = r.intendedUse.status === 'outside' ? r.intendedUse.reasons.join('; ') : 'not an axial brain MR slice';
    return `${reasons}. The AI reads only axial brain MR slices, the kind it was trained on: no label, no probability.`;
  }
  if (r.state === 'unlike-training-data') return 'The AI may be wrong here: this slice looks unlike the images the AI was trained on.';
  return r.intendedUse.status === 'in-use' ? `In intended use (${r.intendedUse.summary}) and like the training data.` : 'Like the training data.';
}

/** "error 0.0489 > cut 0.0451": the MAE image-level error against the out-of-distribution cut. */
export function oodLine(r: Pick<ScanResult, 'ood'>): string {
  if (!r.ood) return 'not measured';
  return `error ${formatScaleNumber(r.ood.score)} ${r.ood.out ? '>' : '≤'} cut ${formatScaleNumber(r.ood.threshold)}`;
}

/** What a detector flag may be called, by the detector's measured AUROC against attacks. */
export function flagWording(evidence: DetectorEvidence | undefined): { badge: string; text: string } {
  if (evidence?.supportsAttackClaim) {
    return { badge: 'FLAGGED', text: "Possible adversarial input: the detector's score is over the calibrated threshold, so the image was purified before classification." };
  }
  const auroc = evidence ? `AUROC ${evidence.auroc.map((a) => a.toFixed(2)).join('–')}` : 'AUROC near 0.5';
  return {
    badge: 'UNUSUAL',
    text: `Detector score over the threshold: purified before classification. Not evidence of an attack: this detector cannot tell attacks from unusual images (${auroc}, docs/ROBUSTNESS.md).`,
  };
}

/**
 * A note when a stored result was judged by other thresholds than those in force now (e.g. scanned before the site
 * calibration), or null.
 */
export function staleThresholdsNote(r: Pick<ScanResult, 'thresholdsSource' | 'thresholdsCreatedUtc'>, now: ScanThresholds | null | undefined): string | null {
  if (!now || r.thresholdsSource === null) return null;
  if (r.thresholdsSource === now.source && r.thresholdsCreatedUtc === now.createdUtc) return null;
  const was = r.thresholdsSource === 'site' ? 'an earlier site calibration' : 'the shipped thresholds';
  return `Judged with ${was}; the ${now.source === 'site' ? 'site calibration' : 'shipped calibration'} of ${now.createdUtc.slice(0, 10)} is in force now: rescan to apply it.`;
}

/** Where the thresholds in force come from, in one line. */
export function thresholdsLine(t: ScanThresholds): string {
  const when = t.createdUtc.slice(0, 10);
  return t.source === 'site' ? `Site calibration of ${when}: ${t.basis}` : `Shipped calibration of ${when}: ${t.basis}`;
}

/** Probability as a percentage with one decimal, e.g. 0.8274 → "82.7 %". */
export function formatPercent(p: number | undefined): string {
  return p === undefined || !Number.isFinite(p) ? '—' : `${(100 * p).toFixed(1)} %`;
}

/** The calibration's expected false-flag rate on clean scans of groups it never saw (contract: unseenGroupFlagRate). */
export function expectedFlagLine(t: { mean: number; sd: number; p95: number }): string {
  return `False flags expected on new patients' clean scans: ${formatPercent(t.mean)} ± ${formatPercent(t.sd)} (≤ ${formatPercent(t.p95)} in 95 % of resamples)`;
}

/** The clean scans expected over the out-of-distribution cut (contract: ScanThresholds.ood.expected). */
export function expectedOodLine(t: { mean: number; sd: number; p95: number }): string {
  return `Clean scans expected to read "unlike the training data": ${formatPercent(t.mean)} ± ${formatPercent(t.sd)} (≤ ${formatPercent(t.p95)} in 95 % of resamples)`;
}

/** The classifier's held-out figures (contract: classifierHeldOut), so a reader can weigh a call. */
export function heldOutLine(h: { split: string; count: number; accuracy: number; accuracyCi95: [number, number] | null; sensitivity: number; specificity: number }): string {
  const ci = h.accuracyCi95 ? ` (95 % CI ${formatPercent(h.accuracyCi95[0])}–${formatPercent(h.accuracyCi95[1])})` : '';
  return `Classifier on ${h.count} held-out slices (${h.split}): accuracy ${formatPercent(h.accuracy)}${ci} · sensitivity ${formatPercent(h.sensitivity)} · specificity ${formatPercent(h.specificity)}`;
}

/** Probability of the predicted class (softmax over [no-tumour, tumour]); undefined when there is no reading. */
export function predictedProbability(r: Pick<ScanResult, 'label' | 'probabilities'>): number | undefined {
  return r.probabilities === null || r.label === null ? undefined : r.probabilities[r.label === 'tumour' ? 1 : 0];
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
  if (!t) return [];
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
