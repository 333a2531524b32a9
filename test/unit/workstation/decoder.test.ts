/**
 * The DICOM pixel decoder on every variant it claims: 8/16/32 bits, unsigned and signed, Bits Stored masking and
 * sign extension (High Bit in any position), rescale, MONOCHROME1/2, implicit/explicit little endian, explicit big
 * endian (incl. 8-bit OW), deflated; cross-checked against dcmtk's dcmconv and a dcmjs-written file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeDicomFile } from '../../../electron/features/studies/dicom/decode.js';
import { DicomError } from '../../../electron/features/studies/dicom/errors.js';
import { readForImportSync } from '../../../electron/features/studies/dicom/read.js';
import { dicomFile, imageElements, imageFile, TS, type ImageOptions, type Value } from './dicom-writer.js';

const ROWS = 3;
const COLS = 4;
const N = ROWS * COLS;

function decode(o: Omit<ImageOptions, 'rows' | 'columns'>, ts: string = TS.explicitLE) {
  return decodeDicomFile(imageFile({ rows: ROWS, columns: COLS, ...o }, ts), 'fixture.dcm');
}

const ALL_NATIVE = [TS.implicitLE, TS.explicitLE, TS.explicitBE, TS.deflatedLE];

describe('decoder: pixel formats in every native transfer syntax', () => {
  for (const ts of ALL_NATIVE) {
    it(`16-bit unsigned (${ts})`, () => {
      const raw = Array.from({ length: N }, (_, i) => i * 5000);
      const f = decode({ bitsAllocated: 16, raw }, ts);
      assert.deepEqual(Array.from(f.pixels), raw);
      assert.equal(f.minValue, 0);
      assert.equal(f.maxValue, 55000);
      assert.equal(f.rows, ROWS);
      assert.equal(f.columns, COLS);
    });

    it(`16-bit signed two's complement (${ts})`, () => {
      const values = Array.from({ length: N }, (_, i) => (i - 6) * 3000);
      const f = decode({ bitsAllocated: 16, pixelRepresentation: 1, raw: values.map((v) => v & 0xffff) }, ts);
      assert.deepEqual(Array.from(f.pixels), values);
      assert.equal(f.minValue, -18000);
    });

    it(`8-bit unsigned and signed (${ts})`, () => {
      const u = Array.from({ length: N }, (_, i) => i * 20);
      assert.deepEqual(Array.from(decode({ bitsAllocated: 8, raw: u }, ts).pixels), u);
      const s = Array.from({ length: N }, (_, i) => (i - 6) * 20);
      assert.deepEqual(Array.from(decode({ bitsAllocated: 8, pixelRepresentation: 1, raw: s.map((v) => v & 0xff) }, ts).pixels), s);
    });

    it(`32-bit unsigned and signed (${ts})`, () => {
      const u = Array.from({ length: N }, (_, i) => 4_000_000_000 - i * 100_000_000);
      assert.deepEqual(Array.from(decode({ bitsAllocated: 32, raw: u }, ts).pixels), u.map(Math.fround));
      const s = Array.from({ length: N }, (_, i) => (i - 6) * 100_000);
      assert.deepEqual(Array.from(decode({ bitsAllocated: 32, pixelRepresentation: 1, raw: s.map((v) => v >>> 0) }, ts).pixels), s);
    });
  }

  it('8-bit pixel data with VR OW in big endian (byte-swapped words)', () => {
    const u = Array.from({ length: N }, (_, i) => i * 20 + 1);
    const f = decode({ bitsAllocated: 8, raw: u, pixelVr: 'OW' }, TS.explicitBE);
    assert.deepEqual(Array.from(f.pixels), u);
  });
});

describe('decoder: Bits Stored, High Bit, rescale, photometric, geometry', () => {
  it('masks bits above Bits Stored (unsigned 12 in 16)', () => {
    const values = Array.from({ length: N }, (_, i) => i * 300);
    const raw = values.map((v) => v | 0xf000); // garbage (e.g. overlay bits) above bit 11
    assert.deepEqual(Array.from(decode({ bitsAllocated: 16, bitsStored: 12, raw }).pixels), values);
  });

  it('sign-extends from Bits Stored (signed 12 in 16)', () => {
    const values = [-2048, -1, 0, 1, 2047, -1000, 1000, -2, 2, -500, 500, 7];
    const raw = values.map((v) => (v & 0x0fff) | 0xa000); // 12-bit two's complement + garbage above
    assert.deepEqual(Array.from(decode({ bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 1, raw }).pixels), values);
  });

  it('honours a High Bit below the top (12 stored, high bit 13: values shifted up by 2)', () => {
    const values = Array.from({ length: N }, (_, i) => i * 333);
    const raw = values.map((v) => (v << 2) | 0b11 | 0xc000);
    assert.deepEqual(Array.from(decode({ bitsAllocated: 16, bitsStored: 12, highBit: 13, raw }).pixels), values);
  });

  it('applies Rescale Slope and Intercept', () => {
    const raw = Array.from({ length: N }, (_, i) => i * 100);
    const f = decode({ bitsAllocated: 16, raw, slope: 2.5, intercept: -1024 });
    assert.deepEqual(Array.from(f.pixels), raw.map((v) => v * 2.5 - 1024));
    assert.equal(f.minValue, -1024);
    assert.equal(f.maxValue, 1100 * 2.5 - 1024);
  });

  it('reports MONOCHROME1 without inverting the values', () => {
    const raw = Array.from({ length: N }, (_, i) => i);
    const f = decode({ bitsAllocated: 16, raw, photometric: 'MONOCHROME1' });
    assert.equal(f.photometricInterpretation, 'MONOCHROME1');
    assert.deepEqual(Array.from(f.pixels), raw);
    assert.equal(decode({ bitsAllocated: 16, raw }).photometricInterpretation, 'MONOCHROME2');
  });

  it('reads window, slice position along the normal, instance number', () => {
    const f = decode({
      bitsAllocated: 16,
      raw: new Array(N).fill(1),
      windowCenter: 40,
      windowWidth: 400,
      position: [10, 20, 30],
      orientation: [1, 0, 0, 0, 1, 0],
      instanceNumber: 7,
    });
    assert.equal(f.windowCenter, 40);
    assert.equal(f.windowWidth, 400);
    assert.equal(f.sliceLocation, 30);
    assert.equal(f.instanceNumber, 7);
    assert.ok(f.pixels instanceof Float32Array);
  });
});

describe('decoder: typed errors', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof DicomError, `expected DicomError, got ${String(err)}`);
      assert.match(err.message, /^bad\.dcm: /, 'the error names the file');
      return err.code;
    }
    assert.fail('expected an error');
  };
  const good = imageFile({ rows: ROWS, columns: COLS, bitsAllocated: 16, raw: new Array(N).fill(5) });

  it('non-DICOM bytes → NOT_DICOM', () => {
    assert.equal(code(() => decodeDicomFile(new TextEncoder().encode('hello, not an image'), 'bad.dcm')), 'NOT_DICOM');
    assert.equal(code(() => decodeDicomFile(new Uint8Array(4096), 'bad.dcm')), 'NOT_DICOM');
  });

  it('truncated in the pixel data or in the header → TRUNCATED', () => {
    assert.equal(code(() => decodeDicomFile(good.subarray(0, good.length - 7), 'bad.dcm')), 'TRUNCATED');
    assert.equal(code(() => decodeDicomFile(good.subarray(0, 200), 'bad.dcm')), 'TRUNCATED');
  });

  it('a transfer syntax without a codec → UNSUPPORTED_TRANSFER_SYNTAX; native pixels under a JPEG syntax → INVALID_DICOM', () => {
    const mpeg = imageFile({ rows: ROWS, columns: COLS, bitsAllocated: 8, raw: new Array(N).fill(1) }, TS.mpeg2);
    assert.equal(code(() => decodeDicomFile(mpeg, 'bad.dcm')), 'UNSUPPORTED_TRANSFER_SYNTAX');
    const jpeg = imageFile({ rows: ROWS, columns: COLS, bitsAllocated: 8, raw: new Array(N).fill(1) }, TS.jpegBaseline);
    assert.equal(code(() => decodeDicomFile(jpeg, 'bad.dcm')), 'INVALID_DICOM');
  });

  it('no pixel data, colour, 1-bit → NO_PIXEL_DATA / UNSUPPORTED_PIXEL_FORMAT', () => {
    const noPixels = imageFile({ rows: ROWS, columns: COLS, bitsAllocated: 16, raw: [], omit: ['7fe00010'] });
    assert.equal(code(() => decodeDicomFile(noPixels, 'bad.dcm')), 'NO_PIXEL_DATA');
    const rgb = imageFile({ rows: ROWS, columns: COLS, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB', raw: new Array(3 * N).fill(1) });
    assert.equal(code(() => decodeDicomFile(rgb, 'bad.dcm')), 'UNSUPPORTED_PIXEL_FORMAT');
  });
});

const dcmconv = spawnSync('dcmconv', ['--version'], { encoding: 'utf8' });
const haveDcmtk = dcmconv.status === 0;

describe('decoder: cross-check against dcmtk dcmconv', { skip: haveDcmtk ? false : 'dcmtk (dcmconv) is not installed: apt-get install dcmtk' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-dcmtk-'));
  const cases: Array<[string, string, Omit<ImageOptions, 'rows' | 'columns'>]> = [
    ['+tb', 'big endian 16-bit signed', { bitsAllocated: 16, pixelRepresentation: 1, raw: Array.from({ length: N }, (_, i) => ((i - 6) * 1000) & 0xffff) }],
    ['+tb', 'big endian 16-bit unsigned 12 stored', { bitsAllocated: 16, bitsStored: 12, raw: Array.from({ length: N }, (_, i) => i * 300) }],
    ['+tb', 'big endian 8-bit', { bitsAllocated: 8, raw: Array.from({ length: N }, (_, i) => i * 20) }],
    ['+ti', 'implicit little endian 16-bit', { bitsAllocated: 16, raw: Array.from({ length: N }, (_, i) => i * 4000) }],
    ['+td', 'deflated little endian 16-bit', { bitsAllocated: 16, raw: Array.from({ length: N }, (_, i) => i * 4000) }],
  ];
  for (const [flag, label, o] of cases) {
    it(`${label} (dcmconv ${flag}) decodes to the same values as the explicit LE original`, () => {
      const src = join(dir, 'src.dcm');
      const dst = join(dir, `dst${flag}.dcm`);
      const original = imageFile({ rows: ROWS, columns: COLS, ...o }, TS.explicitLE);
      writeFileSync(src, original);
      const r = spawnSync('dcmconv', [flag, src, dst], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const a = decodeDicomFile(original, 'src.dcm');
      const b = decodeDicomFile(readFileSync(dst), 'dst.dcm');
      assert.deepEqual(Array.from(b.pixels), Array.from(a.pixels));
    });
  }
});

describe('decoder: a dcmjs-written file', () => {
  it('decodes what dcmjs writes (explicit LE, 16-bit signed, rescale)', () => {
    const dcmjs = createRequire(import.meta.url)('dcmjs');
    const { DicomMetaDictionary, DicomDict } = dcmjs.data;
    const values = Int16Array.from({ length: N }, (_, i) => (i - 6) * 111);
    const dataset = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
      SOPInstanceUID: '1.2.826.0.1.3680043.10.9.77',
      StudyInstanceUID: '1.2.826.0.1.3680043.10.9.78',
      SeriesInstanceUID: '1.2.826.0.1.3680043.10.9.79',
      PatientName: 'DCMJS^TEST',
      Modality: 'MR',
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: ROWS,
      Columns: COLS,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      RescaleSlope: '0.5',
      RescaleIntercept: '10',
      PixelData: [values.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    const meta = {
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: dataset.SOPClassUID,
      MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
      TransferSyntaxUID: TS.explicitLE,
      ImplementationClassUID: '1.2.826.0.1.3680043.10.1',
    };
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
    const f = decodeDicomFile(new Uint8Array(dict.write()), 'dcmjs.dcm');
    assert.deepEqual(Array.from(f.pixels), Array.from(values, (v) => v * 0.5 + 10));
  });
});

describe('decoder: enhanced multi-frame (functional groups)', () => {
  const frameItem = (i: number, slope: string) => ({
    '00209113': { vr: 'SQ', items: [{ '00200032': { vr: 'DS', value: `0\\0\\${i * 3}` } }] },
    '00289145': { vr: 'SQ', items: [{ '00281052': { vr: 'DS', value: String(-i) }, '00281053': { vr: 'DS', value: slope } }] },
    '00289132': { vr: 'SQ', items: [{ '00281050': { vr: 'DS', value: String(100 + i) }, '00281051': { vr: 'DS', value: '50' } }] },
  }) as Record<string, Value>;
  function enhanced(slopes: string[]): Uint8Array {
    const e = imageElements({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], sopUid: '1.2.826.0.1.3680043.10.9.6000', windowCenter: 1, windowWidth: 1 }, TS.explicitLE);
    e['00280008'] = { vr: 'IS', value: '3' };
    e['52009229'] = { vr: 'SQ', items: [{
      '00289110': { vr: 'SQ', items: [{ '00280030': { vr: 'DS', value: '0.5\\0.25' }, '00180050': { vr: 'DS', value: '3' } }] },
      '00209116': { vr: 'SQ', items: [{ '00200037': { vr: 'DS', value: '1\\0\\0\\0\\1\\0' } }] },
    }] };
    e['52009230'] = { vr: 'SQ', items: slopes.map((s, i) => frameItem(i, s)) };
    return dicomFile(e, { transferSyntax: TS.explicitLE });
  }

  it('each frame gets its own rescale, window and position; shared values apply to all', () => {
    const bytes = enhanced(['1', '2', '3']);
    for (let i = 0; i < 3; i++) {
      const f = decodeDicomFile(bytes, 'enhanced.dcm', i);
      assert.deepEqual(Array.from(f.pixels), [1, 2, 3, 4].map((v) => (v + 4 * i) * (i + 1) - i), `frame ${i + 1}`);
      assert.equal(f.windowCenter, 100 + i);
      assert.equal(f.windowWidth, 50);
      assert.equal(f.sliceLocation, i * 3);
      assert.deepEqual(f.pixelSpacing, [0.5, 0.25]);
      assert.equal(f.sliceThickness, 3);
    }
    assert.throws(() => decodeDicomFile(bytes, 'enhanced.dcm', 3), (e: unknown) => e instanceof DicomError && e.code === 'NO_PIXEL_DATA');
  });

  it('a per-frame rescale that is not a finite number is refused, at decode and at import', () => {
    const bad = enhanced(['1', 'NaN', '1']);
    assert.throws(() => decodeDicomFile(bad, 'bad.dcm', 1), (e: unknown) => e instanceof DicomError && e.code === 'INVALID_DICOM' && /functional groups/.test(e.message));
    assert.throws(() => readForImportSync(bad, 'bad.dcm'), (e: unknown) => e instanceof DicomError && e.code === 'INVALID_DICOM');
    assert.equal(readForImportSync(enhanced(['1', '2', '3']), 'ok.dcm')?.image.numberOfFrames, 3);
  });
});
