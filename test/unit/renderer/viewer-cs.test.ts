/** The viewer's DOM-free Cornerstone helpers: metadata modules, measurement readings and their stored form, orientation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame, InstanceSummary, SeriesSummary } from '../../../electron/features/api.js';
import { fromStored, readingOf, toStored, type AnnotationLike } from '../../../renderer/src/viewer/cs/measurements.js';
import { imageIdOf, uidOfImageId, ViewerMetadata } from '../../../renderer/src/viewer/cs/metadata.js';
import { directionLetters, orientationLabels, scaleBarLength } from '../../../renderer/src/viewer/cs/orientation.js';
import { presetsFor, presetVoi } from '../../../renderer/src/viewer/voi.js';

const series: SeriesSummary = { seriesInstanceUid: '1.2.3', studyInstanceUid: '1.2', modality: 'CT', seriesNumber: 4, instanceCount: 2 };
const instances: InstanceSummary[] = [
  { sopInstanceUid: '1.2.3.1', seriesInstanceUid: '1.2.3', rows: 2, columns: 3, sliceLocation: 0 },
  { sopInstanceUid: '1.2.3.2', seriesInstanceUid: '1.2.3', rows: 2, columns: 3, sliceLocation: 5 },
];
const frame: Frame = {
  sopInstanceUid: '1.2.3.2', rows: 2, columns: 3, pixels: new Float32Array([-1000, 0, 40, 40, 100, 1000]), minValue: -1000, maxValue: 1000,
  photometricInterpretation: 'MONOCHROME2', windowCenter: 40, windowWidth: 80, pixelSpacing: [0.5, 0.8], sliceThickness: 5,
  imagePositionPatient: [-10, -20, 5], imageOrientationPatient: [1, 0, 0, 0, 1, 0],
};

test('image ids round-trip', () => {
  assert.equal(imageIdOf('1.2.3'), 'mfp:1.2.3');
  assert.equal(uidOfImageId('mfp:1.2.3'), '1.2.3');
});

test('metadata: the modules Cornerstone asks for, from the series and the decoded frame', () => {
  const md = new ViewerMetadata();
  const ids = md.addSeries(series, instances);
  assert.deepEqual(ids, ['mfp:1.2.3.1', 'mfp:1.2.3.2']);
  assert.deepEqual(md.get('generalSeriesModule', ids[1]), { modality: 'CT', seriesInstanceUID: '1.2.3', studyInstanceUID: '1.2', seriesNumber: 4, seriesDescription: undefined });
  // Before the frame is decoded: size from the instance list, identity geometry stacked by index.
  const before = md.get('imagePlaneModule', ids[1]) as Record<string, unknown>;
  assert.equal(before.rows, 2);
  assert.deepEqual(before.imagePositionPatient, [0, 0, 1]);
  assert.equal(before.usingDefaultValues, true);
  md.setFrame(ids[1], frame);
  const plane = md.get('imagePlaneModule', ids[1]) as Record<string, unknown>;
  assert.deepEqual(plane.imagePositionPatient, [-10, -20, 5]);
  assert.deepEqual(plane.rowCosines, [1, 0, 0]);
  assert.deepEqual(plane.columnCosines, [0, 1, 0]);
  assert.equal(plane.rowPixelSpacing, 0.5);
  assert.equal(plane.columnPixelSpacing, 0.8);
  assert.equal(plane.usingDefaultValues, false);
  assert.equal(plane.frameOfReferenceUID, 'mfp-series-frame:1.2.3');
  assert.deepEqual(md.get('voiLutModule', ids[1]), { windowCenter: [40], windowWidth: [80] });
  assert.deepEqual(md.get('modalityLutModule', ids[1]), { rescaleSlope: 1, rescaleIntercept: 0 });
  assert.equal((md.get('imagePixelModule', ids[1]) as { pixelRepresentation: number }).pixelRepresentation, 1, 'negative HU: signed');
  assert.equal(md.get('unknownModule', ids[1]), undefined);
  assert.equal(md.get('imagePlaneModule', 'mfp:9.9'), undefined);
});

test('presets by modality: CT windows only for CT, percentile windows otherwise', () => {
  assert.deepEqual(presetsFor('CT').map((p) => p.id), ['auto', 'full', 'brain', 'subdural', 'stroke', 'bone']);
  for (const m of ['MR', undefined, 'PT']) {
    const ids = presetsFor(m).map((p) => p.id);
    assert.ok(!ids.includes('brain') && ids.includes('robust'), `${m}: ${ids}`);
  }
  const robust5 = presetsFor('MR').find((p) => p.id === 'robust5')!;
  const v = presetVoi(robust5, { ...frame, pixels: Float32Array.from({ length: 1000 }, (_, i) => i), minValue: 0, maxValue: 999 });
  assert.ok(v.center > 450 && v.center < 550 && v.width > 800 && v.width < 950, JSON.stringify(v));
});

function ann(toolName: string, stats: Record<string, unknown>, extra: Partial<AnnotationLike['data']> = {}): AnnotationLike {
  return { annotationUID: `u-${toolName}`, metadata: { toolName, referencedImageId: 'mfp:1.2.3.2' }, data: { handles: { points: [[1, 2, 3], [4, 5, 6]] }, cachedStats: { 'imageId:mfp:1.2.3.2': stats }, ...extra } };
}

test('readings: length, angle, ROI statistics in the modality unit, probe, arrow text', () => {
  assert.deepEqual(readingOf(ann('Length', { length: 99.934, unit: 'mm' })).text, '99.93 mm');
  assert.equal(readingOf(ann('Length', { length: 99.934, unit: 'mm' })).value, 99.934);
  assert.equal(readingOf(ann('Angle', { angle: 90.04 })).text, '90.0°');
  const roi = readingOf(ann('EllipticalROI', { mean: 100, stdDev: 0, area: 707.4, areaUnit: 'mm²', modalityUnit: 'HU', min: 100, max: 100 }));
  assert.equal(roi.text, 'mean 100.0 HU · SD 0.0 · area 707.4 mm² · range 100…100');
  assert.equal(roi.value, 100);
  assert.equal(readingOf(ann('Probe', { value: -100, modalityUnit: 'HU' })).text, '-100.0 HU');
  assert.equal(readingOf(ann('ArrowAnnotate', {}, { label: 'lesion' })).text, '“lesion”');
  assert.equal(readingOf(ann('Length', {})).text, '…', 'not computed yet');
});

test('stored form: points and text round-trip; other tools are not stored', () => {
  const a = ann('ArrowAnnotate', {}, { label: 'lesion' });
  const s = toStored(a)!;
  assert.deepEqual(s, { uid: 'u-ArrowAnnotate', tool: 'ArrowAnnotate', points: [[1, 2, 3], [4, 5, 6]], text: 'lesion', summary: '“lesion”' });
  const back = fromStored(s, 'mfp:1.2.3.2', 'for', { viewPlaneNormal: [0, 0, -1], viewUp: [0, -1, 0] });
  assert.equal(back.annotationUID, s.uid);
  assert.equal(back.metadata.referencedImageId, 'mfp:1.2.3.2');
  assert.deepEqual(back.data.handles.points, s.points);
  assert.equal(back.data.label, 'lesion');
  assert.equal(toStored(ann('Brush', {})), null);
  assert.equal(toStored({ ...ann('Length', {}), data: { handles: { points: [[NaN, 0, 0]] } } }), null);
});

test('orientation letters and scale bar', () => {
  assert.equal(directionLetters([1, 0, 0]), 'L');
  assert.equal(directionLetters([0, -1, 0]), 'A');
  assert.equal(directionLetters([0, 0, 1]), 'H');
  assert.equal(directionLetters([0.8, 0.6, 0]), 'LP');
  assert.deepEqual(orientationLabels([1, 0, 0], [0, 1, 0]), { right: 'L', left: 'R', bottom: 'P', top: 'A' });
  assert.deepEqual(orientationLabels([0, 1, 0], [0, 0, -1]), { right: 'P', left: 'A', bottom: 'F', top: 'H' });
  assert.deepEqual(scaleBarLength(2.27, 160), { mm: 50, label: '5 cm' });
  assert.deepEqual(scaleBarLength(20, 160), { mm: 5, label: '5 mm' });
  assert.equal(scaleBarLength(0, 100), null);
});
