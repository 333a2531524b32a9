/**
 * Decoding off the event loop: the decode worker returns what in-process decoding returns, its errors arrive as the
 * same typed DicomErrors, and while it decodes a large frame the caller's event loop (the HTTP host's) keeps turning.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeDicomFile, toContractFrame } from '../../../electron/features/studies/dicom/decode.js';
import { decodeFrameOffThread, readForImportOffThread, setDecodeTimeoutForTests } from '../../../electron/features/studies/dicom/decode-worker.js';
import { DicomError } from '../../../electron/features/studies/dicom/errors.js';
import { StudyStore } from '../../../electron/features/studies/store/study-store.js';
import { imageFile } from './dicom-writer.js';
import { deflateBomb } from './hostile-files.js';

describe('decode worker', () => {
  it('decodes and reads like the in-process path; errors stay typed and name the file', async () => {
    const bytes = imageFile({ rows: 3, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4, 5, 60000], slope: 2, intercept: -1 });
    assert.deepEqual(await decodeFrameOffThread(bytes, 'a.dcm'), toContractFrame(decodeDicomFile(bytes, 'a.dcm')));
    const read = await readForImportOffThread(bytes, 'a.dcm');
    assert.equal(read?.image.rows, 3);
    assert.equal(read?.header.sopInstanceUid, '1.2.826.0.1.3680043.10.9.1');
    await assert.rejects(decodeFrameOffThread(deflateBomb({ rows: 16384, columns: 16384 }), 'bomb.dcm'), (e: unknown) => e instanceof DicomError && e.code === 'TOO_LARGE' && e.file === 'bomb.dcm');
    await assert.rejects(readForImportOffThread(new Uint8Array(10), 'short.dcm'), (e: unknown) => e instanceof DicomError && e.code === 'NOT_DICOM');
    // The worker is still serving after errors.
    assert.equal((await decodeFrameOffThread(bytes, 'again.dcm')).rows, 3);
  });

  it('a request that outlives its timeout fails typed, and a fresh worker serves the next one', async () => {
    const big = deflateBomb({ rows: 4096, columns: 4096, sopUid: '1.2.826.0.1.3680043.10.9.4097' });
    setDecodeTimeoutForTests(1);
    try {
      await assert.rejects(decodeFrameOffThread(big, 'slow.dcm'), (e: unknown) => e instanceof DicomError && e.code === 'DECODE_FAILED' && e.file === 'slow.dcm' && /longer than 1 ms/.test(e.message));
    } finally {
      setDecodeTimeoutForTests(undefined);
    }
    const small = imageFile({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4] });
    assert.deepEqual(Array.from((await decodeFrameOffThread(small, 'next.dcm')).pixels), [1, 2, 3, 4]);
  });

  it('the event loop keeps turning while a large frame is decoded (the HTTP host stays responsive)', async () => {
    // 4096² 16-bit, deflated: 32 MiB to inflate and 64 MiB of Float32 to fill for one frame.
    const big = deflateBomb({ rows: 4096, columns: 4096, sopUid: '1.2.826.0.1.3680043.10.9.4096' });
    const turnsDuring = async (store: StudyStore): Promise<number> => {
      assert.equal((await store.importBytesAsync('big.dcm', big)).status, 'imported');
      let done = false;
      let turns = 0;
      const tick = (): void => {
        if (done) return;
        turns++;
        setImmediate(tick);
      };
      const frame = store.getFrameAsync('1.2.826.0.1.3680043.10.9.4096').then((f) => { done = true; return f; });
      setImmediate(tick);
      assert.equal((await frame).pixels.length, 4096 * 4096);
      store.close();
      return turns;
    };
    const inWorker = await turnsDuring(StudyStore.open(mkdtempSync(join(tmpdir(), 'mfp-worker-'))));
    const inProcess = await turnsDuring(StudyStore.open(mkdtempSync(join(tmpdir(), 'mfp-worker-')), { offThread: false }));
    // In-process, the decode runs in one go: the loop turns only around it. In the worker, it turns all along.
    assert.ok(inProcess <= 3, `in-process: ${inProcess} turns`);
    assert.ok(inWorker > 10 * Math.max(1, inProcess), `worker: ${inWorker} turns, in-process ${inProcess}`);
  });
});
