/**
 * Compressed transfer syntaxes (#18 item 3), each decoded pixel for pixel equal to a reference:
 * - files made by dcmtk in a temp folder (dcmcrle, dcmcjpeg, dcmcjpls, dcmconv) from the demo data and from synthetic
 *   16-bit, 8-bit and multi-frame images, compared with dcmtk's own decode (dcmdrle, dcmdjpeg, dcmdjpls) read back
 *   through our native path;
 * - JPEG 2000 and HTJ2K, which the free dcmtk cannot write: encoded losslessly with the OpenJPEG / OpenJPH encoders of
 *   the same codec packages and compared with the source pixels;
 * - files without the 128-byte preamble and meta header (dcmconv -F), every frame of multi-frame images, and typed
 *   errors for what cannot be decoded (12-bit JPEG Extended, a corrupt codestream, a codestream whose size disagrees
 *   with the header), with the rest of an import carrying on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { decodeDicomFileAsync } from '../../../electron/features/studies/dicom/decode.js';
import { DicomError } from '../../../electron/features/studies/dicom/errors.js';
import { importSources } from '../../../electron/features/studies/store/importer.js';
import { StudyStore } from '../../../electron/features/studies/store/study-store.js';
import { dicomFile, imageElements, imageFile, TS } from './dicom-writer.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const DEMO = join(ROOT, 'build/demo-data/T1_COR/001.dcm'); // 128×128, 16 bits allocated, 12 stored
const haveDcmtk = spawnSync('dcmcjpls', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'mfp-codecs-'));

function run(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** `tool [opts] in out` into the temp folder; returns the output path. */
function dcmtk(tool: string, opts: string[], input: string, out: string): string {
  const path = join(dir, out);
  run(tool, ...opts, input, path);
  return path;
}

async function frames(path: string, count: number): Promise<Float32Array[]> {
  const bytes = readFileSync(path);
  const out: Float32Array[] = [];
  for (let f = 0; f < count; f++) out.push((await decodeDicomFileAsync(bytes, path, f)).pixels);
  return out;
}

function assertSamePixels(actual: Float32Array[], expected: Float32Array[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: frame count`);
  actual.forEach((a, f) => {
    assert.equal(a.length, expected[f].length, `${label} frame ${f + 1}: length`);
    let diff = 0;
    let first = -1;
    for (let i = 0; i < a.length; i++) if (a[i] !== expected[f][i]) { diff++; if (first < 0) first = i; }
    assert.equal(diff, 0, `${label} frame ${f + 1}: ${diff} pixels differ, first at ${first} (${a[first]} vs ${expected[f][first]})`);
  });
}

/** Deterministic test images: smooth structure plus texture, covering the whole value range of the bit depth. */
function synthetic(rows: number, columns: number, bits: 8 | 16, frameCount = 1, sop = '1.2.826.0.1.3680043.10.9.5000'): string {
  const max = 2 ** bits - 1;
  const raw: number[] = [];
  for (let f = 0; f < frameCount; f++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) raw.push(Math.round((Math.sin(x / 7 + f) * 0.4 + Math.cos(y / 5) * 0.4 + 0.5) * max * 0.9 + ((x * 131 + y * 71 + f * 17) % 97) * (max / 2000)) & max);
    }
  }
  const e = imageElements({ rows, columns, bitsAllocated: bits, raw, sopUid: sop }, TS.explicitLE);
  if (frameCount > 1) e['00280008'] = { vr: 'IS', value: String(frameCount) };
  const path = join(dir, `${sop}.dcm`);
  writeFileSync(path, dicomFile(e, { transferSyntax: TS.explicitLE }));
  return path;
}

describe('codecs: every compressed syntax decodes equal to dcmtk', { skip: haveDcmtk ? false : 'dcmtk is not installed: apt-get install dcmtk' }, () => {
  let s16: string, s8: string, multi: string;
  let demoRef: Float32Array[], s16Ref: Float32Array[], s8Ref: Float32Array[], multiRef: Float32Array[];
  before(async () => {
    s16 = synthetic(64, 48, 16, 1, '1.2.826.0.1.3680043.10.9.5016');
    s8 = synthetic(64, 48, 8, 1, '1.2.826.0.1.3680043.10.9.5008');
    multi = synthetic(32, 40, 16, 3, '1.2.826.0.1.3680043.10.9.5003');
    demoRef = await frames(DEMO, 1);
    s16Ref = await frames(s16, 1);
    s8Ref = await frames(s8, 1);
    multiRef = await frames(multi, 3);
  });

  it('RLE Lossless (dcmcrle; our own decoder), 8/12/16-bit and multi-frame', async () => {
    for (const [src, ref, n, name] of [[DEMO, () => demoRef, 1, 'demo'], [s16, () => s16Ref, 1, 's16'], [s8, () => s8Ref, 1, 's8'], [multi, () => multiRef, 3, 'multi']] as const) {
      const rle = dcmtk('dcmcrle', [], src, `${name}.rle.dcm`);
      const back = dcmtk('dcmdrle', [], rle, `${name}.rle.ref.dcm`);
      assertSamePixels(await frames(rle, n), await frames(back, n), `RLE ${name}`);
      assertSamePixels(await frames(rle, n), ref(), `RLE ${name} vs source`);
    }
  });

  it('JPEG Lossless SV1 and every predictor 1–7 of Process 14, 12- and 16-bit (the last-pixel bug of 2.1.2 worked around)', async () => {
    const sv1 = dcmtk('dcmcjpeg', ['+e1'], DEMO, 'demo.sv1.dcm');
    assertSamePixels(await frames(sv1, 1), await frames(dcmtk('dcmdjpeg', [], sv1, 'demo.sv1.ref.dcm'), 1), 'SV1 demo');
    for (let sv = 1; sv <= 7; sv++) {
      const p = dcmtk('dcmcjpeg', ['+el', '+sv', String(sv)], s16, `s16.p${sv}.dcm`);
      const ref = await frames(dcmtk('dcmdjpeg', [], p, `s16.p${sv}.ref.dcm`), 1);
      assertSamePixels(await frames(p, 1), ref, `lossless predictor ${sv}`);
      assertSamePixels(ref, s16Ref, `dcmtk lossless predictor ${sv} vs source`);
    }
    const mf = dcmtk('dcmcjpeg', ['+e1'], multi, 'multi.sv1.dcm');
    assertSamePixels(await frames(mf, 3), multiRef, 'SV1 multi-frame');
  });

  it('JPEG-LS lossless and near-lossless (CharLS), 12/16-bit and multi-frame', async () => {
    for (const [src, n, name] of [[DEMO, 1, 'demo'], [s16, 1, 's16'], [multi, 3, 'multi']] as const) {
      const ls = dcmtk('dcmcjpls', [], src, `${name}.jls.dcm`);
      assertSamePixels(await frames(ls, n), await frames(dcmtk('dcmdjpls', [], ls, `${name}.jls.ref.dcm`), n), `JPEG-LS ${name}`);
    }
    const near = dcmtk('dcmcjpls', ['+en'], DEMO, 'demo.jlsn.dcm');
    assertSamePixels(await frames(near, 1), await frames(dcmtk('dcmdjpls', [], near, 'demo.jlsn.ref.dcm'), 1), 'JPEG-LS near-lossless');
  });

  it('JPEG Baseline and 8-bit Extended (libjpeg-turbo) equal dcmtk\'s decode; 12-bit Extended is a typed refusal', async () => {
    for (const [flag, name] of [['+eb', 'baseline'], ['+ee', 'extended8']] as const) {
      const j = dcmtk('dcmcjpeg', [flag], s8, `s8.${name}.dcm`);
      assertSamePixels(await frames(j, 1), await frames(dcmtk('dcmdjpeg', [], j, `s8.${name}.ref.dcm`), 1), `JPEG ${name}`);
    }
    const ext12 = dcmtk('dcmcjpeg', ['+ee'], DEMO, 'demo.ext12.dcm');
    await assert.rejects(frames(ext12, 1), (e: unknown) => e instanceof DicomError && e.code === 'UNSUPPORTED_TRANSFER_SYNTAX' && /12-bit JPEG Extended/.test(e.message));
  });

  it('files without the preamble and meta header (dcmconv -F), implicit and explicit VR', async () => {
    for (const [flag, name] of [['+ti', 'implicit'], ['+te', 'explicit']] as const) {
      const raw = dcmtk('dcmconv', ['-F', flag], DEMO, `demo.raw-${name}.dcm`);
      assert.notEqual(readFileSync(raw).subarray(128, 132).toString('latin1'), 'DICM');
      assertSamePixels(await frames(raw, 1), demoRef, `raw data set (${name})`);
    }
  });
});

describe('codecs: JPEG 2000 and HTJ2K, lossless round trip through the packages\' encoders', () => {
  const require = createRequire(import.meta.url);
  async function encode(pkg: string, cls: string, pixels: Uint16Array, width: number, height: number): Promise<Uint8Array> {
    const mod = (await import(pathToFileURL(require.resolve(`${pkg}/wasmjs`)).href)) as { default: () => Promise<Record<string, new () => Record<string, (...a: unknown[]) => unknown>>> };
    const enc = new (await mod.default())[cls]();
    (enc.getDecodedBuffer({ width, height, bitsPerSample: 16, componentCount: 1, isSigned: false, isUsingColorTransform: false }) as Uint8Array).set(new Uint8Array(pixels.buffer));
    enc.setDecompositions(3);
    enc.setQuality(true, 0);
    enc.encode();
    return Uint8Array.from(enc.getEncodedBuffer() as Uint8Array);
  }
  for (const [ts, pkg, cls, label] of [
    ['1.2.840.10008.1.2.4.90', '@cornerstonejs/codec-openjpeg', 'J2KEncoder', 'JPEG 2000 lossless (OpenJPEG)'],
    ['1.2.840.10008.1.2.4.201', '@cornerstonejs/codec-openjph', 'HTJ2KEncoder', 'HTJ2K lossless (OpenJPH)'],
  ] as const) {
    it(label, async () => {
      const rows = 48, columns = 64;
      const px = new Uint16Array(rows * columns).map((_, i) => (Math.round(Math.sin(i / 50) * 20000 + 30000) + (i % 13) * 7) & 0xffff);
      const codestream = await encode(pkg, cls, px, columns, rows);
      const e = imageElements({ rows, columns, bitsAllocated: 16, raw: [], sopUid: '1.2.826.0.1.3680043.10.9.5200' }, ts);
      e['7fe00010'] = { vr: 'ENCAPSULATED', fragments: [codestream] };
      const f = await decodeDicomFileAsync(dicomFile(e, { transferSyntax: ts }), label);
      assert.deepEqual(Array.from(f.pixels), Array.from(px));
      // A codestream whose size disagrees with Rows × Columns never reaches the codec.
      const lie = imageElements({ rows: rows * 2, columns, bitsAllocated: 16, raw: [], sopUid: '1.2.826.0.1.3680043.10.9.5201' }, ts);
      lie['7fe00010'] = { vr: 'ENCAPSULATED', fragments: [codestream] };
      await assert.rejects(decodeDicomFileAsync(dicomFile(lie, { transferSyntax: ts }), 'lie.dcm'), (err: unknown) => err instanceof DicomError && err.code === 'INVALID_DICOM' && /declares 64×48, the DICOM header 64×96/.test(err.message));
    });
  }
});

describe('codecs: what cannot be decoded is a typed error, and the import carries on', { skip: haveDcmtk ? false : 'dcmtk is not installed' }, () => {
  it('a corrupt JPEG-LS codestream → DECODE_FAILED naming the frame; the other files import; frames of a multi-frame instance are served', async () => {
    const s16 = synthetic(64, 48, 16, 1, '1.2.826.0.1.3680043.10.9.5116');
    const good = readFileSync(dcmtk('dcmcjpls', [], s16, 'good.jls.dcm'));
    const bad = Uint8Array.from(good);
    const sos = Buffer.from(bad).indexOf(Buffer.from([0xff, 0xda]), 400); // start of scan, then scramble the scan data
    for (let i = sos + 20; i < Math.min(bad.length - 4, sos + 400); i++) bad[i] = (i * 37) & 0xff;
    // Keep SOP UIDs apart so the store takes both.
    const badName = 'corrupt.jls.dcm';
    const multi = readFileSync(dcmtk('dcmcrle', [], synthetic(16, 16, 16, 4, '1.2.826.0.1.3680043.10.9.5104'), 'mf.rle.dcm'));
    const store = StudyStore.open(mkdtempSync(join(tmpdir(), 'mfp-codecs-store-')));
    try {
      const r = await importSources(store, [
        { name: badName, read: () => bad },
        { name: 'mf.rle.dcm', read: () => multi },
        { name: 'ok.dcm', read: () => imageFile({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4], sopUid: '1.2.826.0.1.3680043.10.9.5300' }) },
      ]);
      assert.equal(r.imported, 2, JSON.stringify(r.errors));
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].file, badName);
      assert.match(r.errors[0].code, /DECODE_FAILED|INVALID_DICOM/);
      const [inst] = store.listInstances('1.2.826.0.1.3680043.10.9.200').filter((i) => i.sopInstanceUid === '1.2.826.0.1.3680043.10.9.5104');
      assert.equal(inst.numberOfFrames, 4);
      const third = await store.getFrameAsync(inst.sopInstanceUid, 2);
      const ref = await decodeDicomFileAsync(readFileSync(join(dir, '1.2.826.0.1.3680043.10.9.5104.dcm')), 'src', 2);
      assert.deepEqual(Array.from(third.pixels), Array.from(ref.pixels));
      await assert.rejects(store.getFrameAsync(inst.sopInstanceUid, 4), (e: unknown) => e instanceof DicomError && e.code === 'NO_PIXEL_DATA');
    } finally {
      store.close();
    }
  });
});
