/**
 * Hostile input (#17): decompression and header bombs are refused by their declared size before anything big is
 * allocated, strict DICOM validation refuses what dcmtk would, every parser exception becomes a typed import error
 * naming the file, and a models folder without a valid manifest is never used.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeDicomFile } from '../../../electron/features/studies/dicom/decode.js';
import { DicomError } from '../../../electron/features/studies/dicom/errors.js';
import { MAX_FRAME_PIXELS, MAX_INFLATED_BYTES } from '../../../electron/features/studies/dicom/limits.js';
import { importSources } from '../../../electron/features/studies/store/importer.js';
import { StudyStore } from '../../../electron/features/studies/store/study-store.js';
import { decodeImage, ImageDecodeError, MAX_PIXELS } from '../../../native-models/src/inference/image/decode.js';
import { loadModelBundle } from '../../../native-models/src/inference/pipeline/models.js';
import { PipelineError } from '../../../native-models/src/inference/pipeline/errors.js';
import { preprocessImageBytes } from '../../../native-models/src/inference/pipeline/preprocess.js';
import { dicomFile, imageElements, imageFile, TS, type Elements } from './dicom-writer.js';
import { deflateBomb, jpegHeaderBomb, pngHeaderBomb } from './hostile-files.js';

const dicomCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DicomError, `expected a DicomError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

const small = (over: Partial<Parameters<typeof imageFile>[0]> = {}) => imageFile({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4], ...over });

describe('decompression and header bombs', () => {
  it('a deflated 16384×16384×16-bit image is refused from its header, before inflating (TOO_LARGE with the numbers)', () => {
    const bomb = deflateBomb({ rows: 16384, columns: 16384 });
    assert.ok(bomb.length < 1024 * 1024, `bomb is ${bomb.length} bytes`);
    assert.throws(() => decodeDicomFile(bomb, 'bomb.dcm'), dicomCode('TOO_LARGE', new RegExp(`16384×16384 = 268435456 pixels exceeds the limit of ${MAX_FRAME_PIXELS}`)));
  });

  it('a deflated stream that inflates far past its declared size stops at declared size + margin', () => {
    const liar = deflateBomb({ rows: 64, columns: 64, inflatedPixelBytes: 64 * 1024 * 1024 });
    assert.throws(() => decodeDicomFile(liar, 'liar.dcm'), dicomCode('TOO_LARGE', /inflates to more than \d+ bytes \(its declared size/));
  });

  it('an honest deflated file still decodes, and the inflate cap never exceeds the absolute bound', () => {
    const ok = decodeDicomFile(imageFile({ rows: 3, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4, 5, 6] }, TS.deflatedLE), 'ok.dcm');
    assert.deepEqual(Array.from(ok.pixels), [1, 2, 3, 4, 5, 6]);
    assert.ok(MAX_INFLATED_BYTES <= 256 * 1024 * 1024);
  });

  it('native pixel data declaring more frames or pixels than the limits is refused before decoding', () => {
    const e = imageElements({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4] }, TS.explicitLE);
    e['00280008'] = { vr: 'IS', value: '100000' };
    assert.throws(() => decodeDicomFile(dicomFile(e, { transferSyntax: TS.explicitLE }), 'frames.dcm'), dicomCode('TOO_LARGE', /100000 frames/));
    assert.throws(() => decodeDicomFile(small({ rows: 65535, columns: 65535 }), 'rows.dcm'), dicomCode('TOO_LARGE', /65535×65535/));
  });

  it('a 128-byte PNG claiming 50000×50000 is refused from its IHDR (IMAGE_TOO_LARGE, then E_TOO_LARGE in the pipeline)', () => {
    const png = pngHeaderBomb(50000, 50000);
    assert.ok(png.length <= 128, `${png.length} bytes`);
    assert.throws(() => decodeImage(png, 'bomb.png'), (e: unknown) => e instanceof ImageDecodeError && e.code === 'IMAGE_TOO_LARGE' && /50000×50000 = 2500000000 pixels/.test(e.message));
    assert.throws(() => preprocessImageBytes(png, 64, 'bomb.png'), (e: unknown) => e instanceof PipelineError && e.code === 'E_TOO_LARGE');
    assert.throws(() => decodeImage(pngHeaderBomb(9000, 9000)), (e: unknown) => e instanceof ImageDecodeError && e.code === 'IMAGE_TOO_LARGE' && e.message.includes(String(MAX_PIXELS)));
  });

  it('a JPEG whose SOF claims 60000×60000 is refused from its header', () => {
    assert.throws(() => decodeImage(jpegHeaderBomb(60000, 60000), 'bomb.jpg'), (e: unknown) => e instanceof ImageDecodeError && e.code === 'IMAGE_TOO_LARGE' && /60000×60000/.test(e.message));
    assert.throws(() => decodeImage(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9])), (e: unknown) => e instanceof ImageDecodeError && e.code === 'IMAGE_CORRUPT');
  });
});

describe('strict DICOM validation', () => {
  it('refuses a SOP Instance UID over 64 characters or outside [0-9.]', () => {
    assert.throws(() => decodeDicomFile(small({ sopUid: `1.2.${'3'.repeat(2000)}` }), 'long.dcm'), dicomCode('INVALID_DICOM', /SOP Instance UID \(000[28],00[01][38]\) is 2004 characters long; a UID has at most 64/));
    assert.throws(() => decodeDicomFile(small({ sopUid: '1.2.abc' }), 'alpha.dcm'), dicomCode('INVALID_DICOM', /is not a UID/));
    assert.throws(() => decodeDicomFile(small({ studyUid: '1..2' }), 'empty-component.dcm'), dicomCode('INVALID_DICOM', /Study Instance UID/));
    // Lenient: a leading zero in a component (older modalities write them) is accepted.
    assert.equal(decodeDicomFile(small({ sopUid: '1.2.03.4' }), 'zero.dcm').sopInstanceUid, '1.2.03.4');
  });

  it('refuses a rescale that is not finite or maps pixels beyond Float32', () => {
    assert.throws(() => decodeDicomFile(small({ slope: 1e308 }), 'slope.dcm'), dicomCode('INVALID_DICOM', /Rescale Slope/));
    const e = imageElements({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4] }, TS.explicitLE);
    e['00281053'] = { vr: 'DS', value: 'abc' };
    assert.throws(() => decodeDicomFile(dicomFile(e, { transferSyntax: TS.explicitLE }), 'nan.dcm'), dicomCode('INVALID_DICOM', /Rescale Slope \(0028,1053\) "abc" is not a finite number/));
  });

  it('refuses invalid VRs, wrong binary lengths and Image Pixel attributes of the wrong VR', () => {
    const badVr = small();
    const at = Buffer.from(badVr).indexOf(Buffer.from('CS', 'latin1'), 300); // first CS after the meta header
    badVr[at] = 0x7a; badVr[at + 1] = 0x7a; // "zz"
    assert.throws(() => decodeDicomFile(badVr, 'vr.dcm'), dicomCode('INVALID_DICOM', /invalid VR "zz"/));
    const e: Elements = imageElements({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4] }, TS.explicitLE);
    e['00280010'] = { vr: 'UL', value: [2] };
    assert.throws(() => decodeDicomFile(dicomFile(e, { transferSyntax: TS.explicitLE }), 'rows-ul.dcm'), dicomCode('INVALID_DICOM', /Rows \(0028,0010\) must be one US value/));
    e['00280010'] = { vr: 'US', value: [2, 2] };
    assert.throws(() => decodeDicomFile(dicomFile(e, { transferSyntax: TS.explicitLE }), 'rows-2.dcm'), dicomCode('INVALID_DICOM', /Rows/));
    e['00280010'] = { vr: 'US', value: [2] };
    e['00189999'] = { vr: 'LO', value: 'x'.repeat(10) };
    e['00280030'] = { vr: 'DS', value: '1\\1' };
    e['00281050'] = { vr: 'DS', value: '40' };
    assert.equal(decodeDicomFile(dicomFile(e, { transferSyntax: TS.explicitLE }), 'fine.dcm').rows, 2);
  });

  it('maps every parser exception to a typed error naming the file, and the import carries on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfp-hostile-'));
    const store = StudyStore.open(dir);
    try {
      const good = small({ sopUid: '1.2.826.0.1.3680043.10.9.7001' });
      // Element lengths that point past the end, at every position of the data set: whatever dicom-parser throws.
      const broken: Array<{ name: string; read: () => Uint8Array }> = [];
      for (let i = 140; i < good.length - 4; i += 7) {
        const b = Uint8Array.from(good);
        b[i] = 0xff; b[i + 1] = 0xff;
        broken.push({ name: `broken-${i}.dcm`, read: () => b });
      }
      const r = await importSources(store, [{ name: 'good.dcm', read: () => good }, ...broken]);
      assert.equal(r.imported + r.duplicates, 1 + broken.length - r.errors.length);
      assert.ok(r.errors.length > 0);
      for (const e of r.errors) {
        assert.notEqual(e.code, 'IO_ERROR', `${e.file}: ${e.message}`);
        assert.match(e.file, /^broken-\d+\.dcm$/);
      }
    } finally {
      store.close();
    }
  });
});

describe('models folder: fail closed', () => {
  it('refuses a folder with no manifest, or an invalid one, whatever the caller; seeded models only on explicit request', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mfp-models-'));
    await assert.rejects(loadModelBundle({ modelsDir: empty }), (e: unknown) => e instanceof PipelineError && e.code === 'E_MODELS' && /no manifest\.json/.test(e.message));
    const bad = mkdtempSync(join(tmpdir(), 'mfp-models-'));
    writeFileSync(join(bad, 'manifest.json'), '{"format":"something-else"}');
    await assert.rejects(loadModelBundle({ modelsDir: bad, allowSeeded: true }), (e: unknown) => e instanceof PipelineError && e.code === 'E_MODELS' && /MODEL_MANIFEST_INVALID/.test(e.message));
    const seeded = await loadModelBundle({ modelsDir: empty, allowSeeded: true });
    assert.equal(seeded.classifier.trained, false);
  });
});
