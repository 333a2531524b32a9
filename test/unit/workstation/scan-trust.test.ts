// The AI's trust rules without models: the intended-use gate on header facts (and on real DICOM headers), the
// out-of-distribution / security-alert judgement, and the site calibration's arithmetic and file checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkIntendedUse, tiltFromAxial, AXIAL_TOLERANCE_DEG } from '../../../electron/features/scan/intended-use.js';
import { readImageFacts, type ImageFacts } from '../../../electron/features/studies/dicom/facts.js';
import { parseDicomFile } from '../../../electron/features/studies/dicom/parse.js';
import { judge, factoryThresholds, siteThresholds, siteMismatch, thresholdsInForce, DETECTOR_EVIDENCE } from '../../../electron/features/scan/trust.js';
import {
  computeSiteCalibration, readSiteCalibration, writeSiteCalibration, loadSiteCalibration, siteCalibrationPath, MIN_SITE_SLICES, SiteCalibrationError,
} from '../../../electron/features/scan/site-calibration.js';
import { dicomFile, imageElements, TS } from './dicom-writer.js';
import { oodCutOf } from '../../../native-models/src/inference/pipeline/pipeline.js';
import { checkCalibration } from '../../../native-models/src/inference/pipeline/calibrate.js';

const AXIAL: ImageFacts['imageOrientationPatient'] = [1, 0, 0, 0, 1, 0];
const SAGITTAL: ImageFacts['imageOrientationPatient'] = [0, 1, 0, 0, 0, -1];
const CORONAL: ImageFacts['imageOrientationPatient'] = [1, 0, 0, 0, 0, -1];

function facts(o: Partial<ImageFacts> = {}): ImageFacts {
  return { modality: 'MR', bodyPartExamined: 'BRAIN', imageOrientationPatient: AXIAL, numberOfFrames: 1, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2', rows: 256, columns: 256, ...o };
}

/** Orientation tilted by `deg` about the patient's L axis (an AC–PC style oblique axial). */
function tilted(deg: number): ImageFacts['imageOrientationPatient'] {
  const r = (deg * Math.PI) / 180;
  return [1, 0, 0, 0, Math.cos(r), Math.sin(r)];
}

test('intended-use gate: axial brain MR passes; each other kind is named', () => {
  const ok = checkIntendedUse(facts());
  assert.equal(ok.status, 'in-use');
  assert.match(ok.status === 'in-use' ? ok.summary : '', /MR · BRAIN · axial \(0° tilt\) · 256×256/);

  const reasons = (f: ImageFacts) => {
    const v = checkIntendedUse(f);
    assert.equal(v.status, 'outside', JSON.stringify(f));
    return v.status === 'outside' ? v.reasons.join('; ') : '';
  };
  assert.match(reasons(facts({ imageOrientationPatient: SAGITTAL })), /^sagittal slice \(90° from axial; axial within 30° only\)$/);
  assert.match(reasons(facts({ imageOrientationPatient: CORONAL })), /^coronal slice/);
  assert.match(reasons(facts({ imageOrientationPatient: undefined })), /orientation unknown/);
  assert.match(reasons(facts({ imageOrientationPatient: [1, 0, 0, 1, 0, 0] })), /orientation invalid/);
  assert.match(reasons(facts({ modality: 'CT' })), /^modality CT, not MR$/);
  assert.match(reasons(facts({ modality: undefined })), /modality not stated/);
  assert.match(reasons(facts({ bodyPartExamined: 'KNEE' })), /^body part KNEE, not brain$/);
  assert.match(reasons(facts({ bodyPartExamined: undefined })), /body part not stated/);
  assert.match(reasons(facts({ numberOfFrames: 40 })), /40 frames/);
  assert.match(reasons(facts({ samplesPerPixel: 3, photometricInterpretation: 'RGB' })), /not greyscale/);
  assert.match(reasons(facts({ rows: 32, columns: 32 })), /each side must be 64–2048/);
  assert.match(reasons(facts({ rows: 64, columns: 512 })), /aspect ratio/);
  // Every failing rule is named, not just the first.
  assert.equal((checkIntendedUse(facts({ modality: 'CT', imageOrientationPatient: SAGITTAL })) as { reasons: string[] }).reasons.length, 2);

  // Body part from the descriptions when the attribute is absent.
  const described = checkIntendedUse(facts({ bodyPartExamined: undefined, seriesDescription: 'T1 AX head' }));
  assert.equal(described.status, 'in-use');
  assert.equal(checkIntendedUse(facts({ bodyPartExamined: 'head' })).status, 'in-use');
  // No header at all: a research-benchmark image, said so.
  const bench = checkIntendedUse(null);
  assert.equal(bench.status, 'research-benchmark');
  assert.match(bench.status === 'research-benchmark' ? bench.note : '', /research-benchmark image/);
});

test('intended-use gate: the axial tolerance is 30° from the S axis, for oblique axials either way', () => {
  assert.equal(AXIAL_TOLERANCE_DEG, 30);
  for (const deg of [0, 12, -20, 29.5]) {
    assert.ok(Math.abs(tiltFromAxial(tilted(deg)!) - Math.abs(deg)) < 1e-9);
    assert.equal(checkIntendedUse(facts({ imageOrientationPatient: tilted(deg) })).status, 'in-use', `${deg}°`);
  }
  for (const deg of [31, -45, 60, 89]) assert.equal(checkIntendedUse(facts({ imageOrientationPatient: tilted(deg) })).status, 'outside', `${deg}°`);
  // A feet-first or flipped axial (normal along −S) is still axial.
  assert.equal(checkIntendedUse(facts({ imageOrientationPatient: [-1, 0, 0, 0, 1, 0] })).status, 'in-use');
});

test('readImageFacts reads modality, body part, orientation and the image kind from a real header', () => {
  const e = imageElements({ rows: 64, columns: 64, bitsAllocated: 16, raw: new Uint16Array(64 * 64), orientation: [0, 1, 0, 0, 0, -1] }, TS.explicitLE);
  e['00180015'] = { vr: 'CS', value: 'BRAIN' };
  e['0008103e'] = { vr: 'LO', value: 'T1 SAG' };
  const f = readImageFacts(parseDicomFile(dicomFile(e, { transferSyntax: TS.explicitLE }), 'x.dcm'));
  assert.deepEqual(f, {
    numberOfFrames: 1, samplesPerPixel: 1, rows: 64, columns: 64, sopClassUid: '1.2.840.10008.5.1.4.1.1.4', modality: 'MR', bodyPartExamined: 'BRAIN',
    seriesDescription: 'T1 SAG', photometricInterpretation: 'MONOCHROME2', imageOrientationPatient: [0, 1, 0, 0, 0, -1],
  });
  assert.match((checkIntendedUse(f) as { reasons: string[] }).reasons[0], /^sagittal slice/);
});

const ENGINE_CAL = {
  split: 'group-val', n: 713, fpr: 0.05, scoreKind: 'mse' as const, createdUtc: '2026-11-29T14:40:16Z', threshold: 0.031, K: 4, steps: 4, tMin: 50, tMax: 150,
  unseenGroupFlagRate: { draws: 500, mean: 0.052, sd: 0.024, p95: 0.092 },
  ood: { scoreKind: 'mse' as const, threshold: 0.045, fpr: 0.01, rule: 'quantile' as const, unseenGroupRate: null },
};

test('oodCutOf: the calibration\'s 99th percentile, or its largest clean score in older files', () => {
  const sc = { threshold: 0.03, sHi: 0.06, median: 0.015, max: 0.077, valFlagRate: 0.05 };
  const base = {
    format: 'medfedpure-calibration' as const, version: 1 as const, createdUtc: 'x', split: 's', n: 713, data: { source: 's', fingerprint: 'f' }, fpr: 0.05,
    detector: { maeSha256: 'a', maeVersion: '1', K: 4, maskSeed: 1 }, scoreKind: 'mse' as const, scores: { mse: sc, laplacian: sc },
    purification: { tMin: 50, tMax: 150, steps: 4, purifyAllTStar: 100, sHiFactor: 2 },
  };
  assert.deepEqual(oodCutOf(base), { scoreKind: 'mse', threshold: 0.077, fpr: 1 / 714, rule: 'max', unseenGroupRate: null });
  const withOod = { ...base, scores: { ...base.scores, mse: { ...sc, ood: { fpr: 0.01, threshold: 0.045 } } } };
  assert.deepEqual(oodCutOf(withOod), { scoreKind: 'mse', threshold: 0.045, fpr: 0.01, rule: 'quantile', unseenGroupRate: null });
  // A cut below the flag threshold is refused: it would call ordinary flags "unlike the training data".
  assert.throws(() => checkCalibration({ ...withOod, scores: { ...withOod.scores, mse: { ...sc, ood: { fpr: 0.01, threshold: 0.01 } } } }), /out-of-distribution cut/);
  checkCalibration(withOod);
});

test('judge: over the OOD cut is "unlike the training data" with no alert; a flag in distribution alerts', () => {
  const t = factoryThresholds(ENGINE_CAL);
  assert.equal(t.source, 'factory');
  assert.equal(t.flag.expected?.by, 'group');
  assert.deepEqual(judge({ flagged: true, scores: { mse: 0.05 } }, t), { state: 'unlike-training-data', ood: { score: 0.05, threshold: 0.045, out: true }, securityAlert: false });
  assert.deepEqual(judge({ flagged: true, scores: { mse: 0.04 } }, t), { state: 'answered', ood: { score: 0.04, threshold: 0.045, out: false }, securityAlert: true });
  assert.equal(judge({ flagged: false, scores: { mse: 0.02 } }, t).securityAlert, false);
  assert.deepEqual(judge({ flagged: false, scores: null }, t), { state: 'answered', ood: null, securityAlert: false });
  // The shipped detector is at chance against attacks: its flag may not be called an attack.
  assert.equal(DETECTOR_EVIDENCE.supportsAttackClaim, false);
});

const by = { userId: 'admin1', userRole: 'admin', workstation: 'ws' };
const detector = { maeSha256: 'a'.repeat(64), K: 4, maskSeed: 20251114 };

function slices(n: number, series = 1) {
  return Array.from({ length: n }, (_, i) => ({ seriesInstanceUid: `1.${i % series}`, scores: { mse: 0.01 + i * 0.001, laplacian: 0.1 + i * 0.01 } }));
}

test('site calibration: quantile thresholds, spread by slice or series, minimum size, file round trip and checks', () => {
  assert.throws(() => computeSiteCalibration(slices(MIN_SITE_SLICES - 1), { flagScoreKind: 'mse', detector, by, studies: ['1'], series: ['1.0'], excluded: 0 }), SiteCalibrationError);
  const c = computeSiteCalibration(slices(40), { flagScoreKind: 'mse', detector, by, studies: ['1'], series: ['1.0'], excluded: 3, now: new Date('2026-12-06T10:00:00Z') });
  // 40 scores 0.010…0.049: the 95 % quantile is the 38th, the 99 % one the 40th (largest).
  assert.ok(Math.abs(c.flag.threshold - 0.047) < 1e-12);
  assert.ok(Math.abs(c.ood.threshold - 0.049) < 1e-12);
  assert.equal(c.flag.rateOnTheseSlices, 2 / 40);
  assert.equal(c.ood.rateOnTheseSlices, 0);
  assert.equal(c.spreadBy, 'slice');
  assert.equal(c.flag.expected?.by, 'slice');
  assert.ok(c.flag.expected!.mean > 0 && c.flag.expected!.sd > 0);
  const bySeries = computeSiteCalibration(slices(40, 5), { flagScoreKind: 'laplacian', detector, by, studies: ['1'], series: [], excluded: 0 });
  assert.equal(bySeries.spreadBy, 'series');
  assert.ok(Math.abs(bySeries.flag.threshold - 0.47) < 1e-12, 'the flag threshold is on the engine\'s flagging score');

  const dir = mkdtempSync(join(tmpdir(), 'mfp-site-'));
  try {
    assert.equal(readSiteCalibration(dir), null);
    const path = writeSiteCalibration(dir, c);
    assert.equal(path, siteCalibrationPath(dir));
    assert.deepEqual(readSiteCalibration(dir), c);
    const t = siteThresholds(c);
    assert.equal(t.source, 'site');
    assert.match(t.basis, /^40 clean axial slices of 1 series at this site$/);
    // In force only for the detector it was measured with.
    const status = { ready: true, models: [{ name: 'mae', version: '1', sha256: detector.maeSha256, trained: true }], calibration: ENGINE_CAL };
    assert.equal(siteMismatch(c, status), null);
    assert.equal(thresholdsInForce(status, loadSiteCalibration(dir)).thresholds?.source, 'site');
    const other = { ...status, models: [{ name: 'mae', version: '2', sha256: 'b'.repeat(64), trained: true }] };
    const f = thresholdsInForce(other, loadSiteCalibration(dir));
    assert.equal(f.thresholds?.source, 'factory');
    assert.match(f.problem ?? '', /not used: it was measured with MAE aaaaaaaaaaaa…/);
    // A damaged file is never used, and says why.
    writeFileSync(path, JSON.stringify({ ...c, flag: { ...c.flag, threshold: -1 } }));
    const bad = thresholdsInForce(status, loadSiteCalibration(dir));
    assert.equal(bad.thresholds?.source, 'factory');
    assert.match(bad.problem ?? '', /bad flag threshold/);
    writeFileSync(path, '{');
    assert.match(loadSiteCalibration(dir).problem ?? '', /not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
