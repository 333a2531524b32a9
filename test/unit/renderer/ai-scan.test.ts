/** The AI panel's logic without a DOM: sequential series scan (progress, cancel, first error stops) and its texts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiClient, ScanResult } from '../../../electron/features/api.js';
import { scanSeries, type SeriesScanProgress } from '../../../renderer/src/ai/series-scan.js';
import {
  expectedFlagLine, expectedOodLine, flagWording, formatPercent, heldOutLine, labelText, oodLine, predictedProbability, purifyLine, scanErrorMessage, scoreLine,
  staleThresholdsNote, STATE_TEXT, stateLine, thresholdsLine, timingLines, untrainedModels,
} from '../../../renderer/src/ai/format.js';

function fakeResult(uid: string, over: Partial<ScanResult> = {}): ScanResult {
  return {
    sopInstanceUid: uid, seriesInstanceUid: 'se', studyInstanceUid: 'st', createdUtc: '2026-01-01T00:00:00.000Z',
    state: 'answered', intendedUse: { status: 'in-use', summary: 'MR · BRAIN · axial (0° tilt) · 256×256' }, ood: { score: 0.02, threshold: 0.045, out: false },
    securityAlert: false, thresholdsSource: 'factory', thresholdsCreatedUtc: '2026-11-29T14:40:16.978Z',
    label: 'no-tumour', probabilities: [0.9, 0.1], mode: 'adaptive', flagged: false, score: 0.02, threshold: 0.0387,
    scoreKind: 'mse', tStar: 0, steps: 0, timesteps: [], seed: 1, size: 2, input: new Float32Array(4), errorMap: new Float32Array(4),
    purified: null, difference: null, models: [{ name: 'classifier', version: '1.0.0', sha256: 'a'.repeat(64), trained: true }], ep: 'cpu',
    timings: { preprocessMs: 1, detectMs: 2, purifyMs: 0, classifyMs: 3, totalMs: 6, batchSize: 1 },
    ...over,
  };
}

/** A client whose scan.run answers in order, failing for the uids in `fail`; records the calls. */
function fakeClient(fail: Record<string, unknown> = {}, onCall?: (uid: string) => void) {
  const calls: string[] = [];
  const client: Pick<ApiClient, 'invoke'> = {
    invoke: (async (method: string, req: { sopInstanceUid: string }) => {
      assert.equal(method, 'scan.run');
      calls.push(req.sopInstanceUid);
      onCall?.(req.sopInstanceUid);
      await new Promise((r) => setTimeout(r, 1));
      if (req.sopInstanceUid in fail) throw fail[req.sopInstanceUid];
      return fakeResult(req.sopInstanceUid);
    }) as ApiClient['invoke'],
  };
  return { client, calls };
}

test('scans every slice in order, one at a time, reporting progress and each result', async () => {
  const { client, calls } = fakeClient();
  const progress: SeriesScanProgress[] = [];
  const results: string[] = [];
  const out = await scanSeries(client, ['a', 'b', 'c'], { onProgress: (p) => progress.push(p), onResult: (r) => results.push(r.sopInstanceUid) });
  assert.deepEqual(out, { scanned: 3, total: 3, cancelled: false });
  assert.deepEqual(calls, ['a', 'b', 'c']);
  assert.deepEqual(results, ['a', 'b', 'c']);
  assert.deepEqual(progress.at(-1), { done: 3, total: 3 });
  assert.deepEqual(progress[0], { done: 0, total: 3, current: 'a' });
});

test('cancel lets the slice in flight finish, then stops', async () => {
  const ctl = new AbortController();
  const { client, calls } = fakeClient({}, (uid) => { if (uid === 'b') ctl.abort(); });
  const out = await scanSeries(client, ['a', 'b', 'c', 'd'], { signal: ctl.signal });
  assert.deepEqual(out, { scanned: 2, total: 4, cancelled: true });
  assert.deepEqual(calls, ['a', 'b']);
});

test('the first error stops the run and names the slice', async () => {
  const err = { name: 'ApiError', code: 'INTERNAL', message: 'Inference engine: model file missing' };
  const { client, calls } = fakeClient({ b: err });
  const out = await scanSeries(client, ['a', 'b', 'c']);
  assert.equal(out.scanned, 1);
  assert.equal(out.error?.sopInstanceUid, 'b');
  assert.deepEqual(calls, ['a', 'b']);
  assert.equal(scanErrorMessage(out.error?.error), 'Scan failed: Inference engine: model file missing');
});

test('error messages are one readable line, never a stack', () => {
  const e = new Error('boom');
  e.stack = 'Error: boom\n    at x (/a.js:1:1)';
  assert.equal(scanErrorMessage(e), 'boom');
  assert.equal(scanErrorMessage({ code: 'BAD_REQUEST', message: 'Cannot scan this image: frame has 3 values\n  at y' }), 'Cannot scan this image: frame has 3 values');
  assert.equal(scanErrorMessage({ code: 'NOT_FOUND', message: 'No instance 1.2.3' }), 'Not found: No instance 1.2.3');
  assert.equal(scanErrorMessage('x'.repeat(1000)).length, 300);
  assert.equal(scanErrorMessage(undefined), 'Unknown error');
});

test('result texts: probability of the predicted class, score vs threshold, purification, models, timings', () => {
  const r = fakeResult('a');
  assert.equal(formatPercent(predictedProbability(r)), '90.0 %');
  assert.equal(formatPercent(predictedProbability({ ...r, label: 'tumour' })), '10.0 %');
  assert.equal(expectedFlagLine({ mean: 0.052, sd: 0.024, p95: 0.0924 }), "False flags expected on new patients' clean scans: 5.2 % ± 2.4 % (≤ 9.2 % in 95 % of resamples)");
  assert.equal(heldOutLine({ split: 'br35h-group-v1 (seed 42)', count: 457, accuracy: 0.8884, accuracyCi95: [0.8189, 0.9466], sensitivity: 0.9037, specificity: 0.8663 }),
    'Classifier on 457 held-out slices (br35h-group-v1 (seed 42)): accuracy 88.8 % (95 % CI 81.9 %–94.7 %) · sensitivity 90.4 % · specificity 86.6 %');
  assert.equal(heldOutLine({ split: 's', count: 10, accuracy: 0.9, accuracyCi95: null, sensitivity: 1, specificity: 0.8 }),
    'Classifier on 10 held-out slices (s): accuracy 90.0 % · sensitivity 100.0 % · specificity 80.0 %');
  assert.equal(scoreLine(r), 'score 0.02 ≤ threshold 0.0387 (mse)');
  assert.equal(scoreLine({ ...r, score: 0.05, flagged: true }), 'score 0.05 > threshold 0.0387 (mse)');
  assert.equal(scoreLine({ ...r, score: null }), 'detector not run');
  assert.equal(purifyLine(r), 'not purified');
  assert.equal(purifyLine({ tStar: 92, steps: 4 }), 'purified from t* = 92, 4 DDIM steps');
  assert.deepEqual(untrainedModels(r.models), []);
  assert.deepEqual(untrainedModels([...r.models, { name: 'mae', version: '0', sha256: 'b', trained: false }]), ['mae']);
  assert.deepEqual(timingLines({ ...r.timings!, totalMs: 1500, batchSize: 2 }).at(-1), ['total', '1.50 s (batch of 2)']);
  assert.deepEqual(timingLines(null), []);
});

test('answer states in words: outside intended use gives reasons and no probability; OOD says the AI may be wrong; the flag is worded by evidence', () => {
  const outside = fakeResult('x', { state: 'outside-intended-use', intendedUse: { status: 'outside', reasons: ['sagittal slice (90° from axial; axial within 30° only)'] }, label: null, probabilities: null, ood: null, thresholdsSource: null, thresholdsCreatedUtc: null });
  assert.equal(STATE_TEXT[outside.state], 'Outside intended use');
  assert.equal(stateLine(outside), 'sagittal slice (90° from axial; axial within 30° only). The AI reads only axial brain MR slices, the kind it was trained on: no label, no probability.');
  assert.equal(labelText(outside.label), 'No reading');
  assert.equal(predictedProbability(outside), undefined);
  assert.equal(formatPercent(predictedProbability(outside)), '—');
  assert.equal(oodLine(outside), 'not measured');
  const ood = fakeResult('y', { state: 'unlike-training-data', ood: { score: 0.0489, threshold: 0.0452, out: true } });
  assert.match(stateLine(ood), /^The AI may be wrong here/);
  assert.equal(oodLine(ood), 'error 0.0489 > cut 0.0452');
  assert.equal(stateLine(fakeResult('z')), 'In intended use (MR · BRAIN · axial (0° tilt) · 256×256) and like the training data.');
  // At chance against attacks (AUROC 0.50–0.53): a flag is "unusual", never "adversarial".
  const blind = flagWording({ auroc: [0.5, 0.53], measuredOn: 'x', supportsAttackClaim: false });
  assert.equal(blind.badge, 'UNUSUAL');
  assert.match(blind.text, /cannot tell attacks from unusual images \(AUROC 0\.50–0\.53/);
  assert.doesNotMatch(blind.text, /adversarial/i);
  assert.equal(flagWording({ auroc: [0.93, 0.95], measuredOn: 'x', supportsAttackClaim: true }).badge, 'FLAGGED');
  assert.equal(expectedOodLine({ mean: 0.013, sd: 0.011, p95: 0.034 }), 'Clean scans expected to read "unlike the training data": 1.3 % ± 1.1 % (≤ 3.4 % in 95 % of resamples)');
  assert.equal(thresholdsLine({ source: 'site', createdUtc: '2026-12-06T10:00:00Z', basis: '24 clean axial slices of 1 series at this site', n: 24,
    flag: { scoreKind: 'mse', threshold: 0.045, fpr: 0.05, expected: null }, ood: { scoreKind: 'mse', threshold: 0.049, fpr: 0.01, expected: null } }),
  'Site calibration of 2026-12-06: 24 clean axial slices of 1 series at this site');
  const site = { source: 'site' as const, createdUtc: '2026-12-06T10:00:00Z', basis: 'b', n: 24,
    flag: { scoreKind: 'mse' as const, threshold: 0.045, fpr: 0.05, expected: null }, ood: { scoreKind: 'mse' as const, threshold: 0.049, fpr: 0.01, expected: null } };
  assert.equal(staleThresholdsNote(fakeResult('a'), site), 'Judged with the shipped thresholds; the site calibration of 2026-12-06 is in force now: rescan to apply it.');
  assert.equal(staleThresholdsNote(fakeResult('a', { thresholdsSource: 'site', thresholdsCreatedUtc: site.createdUtc }), site), null);
  assert.equal(staleThresholdsNote(outside, site), null, 'no thresholds judged a declined scan');
});
