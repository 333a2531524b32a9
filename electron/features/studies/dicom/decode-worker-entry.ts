/**
 * The decode worker's side (a worker_thread started by decode-worker.ts): parses, validates and decodes DICOM bytes
 * sent by the host, so neither the HTTP host's nor Electron main's event loop ever runs a decoder on untrusted bytes.
 *
 * Requests: { id, op: 'frame', bytes, name, frame } → { id, ok: true, frame } (pixels transferred, not copied);
 *           { id, op: 'read', bytes, name } → { id, ok: true, read: { header, image } | null (a DICOMDIR) };
 * failures: { id, ok: false, error: { code, file, reason } } with the DicomError's fields.
 */
import { parentPort } from 'node:worker_threads';
import { decodeDicomFileAsync, toContractFrame } from './decode.js';
import { DicomError } from './errors.js';
import { readForImport } from './read.js';

export type DecodeRequest =
  | { id: number; op: 'frame'; bytes: Uint8Array; name: string; frame: number }
  | { id: number; op: 'read'; bytes: Uint8Array; name: string };

const port = parentPort;
if (port) {
  port.on('message', (req: DecodeRequest) => {
    void (async () => {
      try {
        if (req.op === 'frame') {
          const frame = toContractFrame(await decodeDicomFileAsync(req.bytes, req.name, req.frame));
          port.postMessage({ id: req.id, ok: true, frame }, [frame.pixels.buffer as ArrayBuffer]);
        } else {
          port.postMessage({ id: req.id, ok: true, read: await readForImport(req.bytes, req.name) });
        }
      } catch (err) {
        const e = err instanceof DicomError ? err : new DicomError('DECODE_FAILED', req.name, err instanceof Error ? err.message : String(err));
        port.postMessage({ id: req.id, ok: false, error: { code: e.code, file: e.file, reason: e.reason } });
      }
    })();
  });
}
