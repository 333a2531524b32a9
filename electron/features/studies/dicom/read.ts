/**
 * What import needs from one file: parse, validate, the instance header and image facts, and for compressed pixel
 * data the first frame decoded (so a file the codec cannot read is refused at import, not later in the viewer), and
 * for enhanced multi-frame objects every frame's functional-group values checked.
 * Runs in the decode worker (decode-worker.ts) for the hosts, and in-process for the CLI and tests.
 */
import { prepareCodec } from './codecs/index.js';
import { decodeDataSet, peekTransferSyntax } from './decode.js';
import { isDicomDir } from './dicomdir.js';
import { frameValues } from './functional-groups.js';
import { readImageInfo, readInstanceHeader, type ImageInfo, type InstanceHeader } from './header.js';
import { parseDicomFile, typedDicom } from './parse.js';
import { validateDataSet } from './validate.js';

/** null: a DICOMDIR (nothing to store itself). */
export type ReadForImport = { header: InstanceHeader; image: ImageInfo } | null;

/** Synchronous: a compressed file's codec must be loaded already (`prepareCodec`). Throws DicomError only. */
export function readForImportSync(bytes: Uint8Array, name: string): ReadForImport {
  return typedDicom(name, () => {
    const ds = parseDicomFile(bytes, name);
    validateDataSet(ds, name);
    if (isDicomDir(ds)) return null;
    const header = readInstanceHeader(ds, name);
    const image = readImageInfo(ds, name);
    // Enhanced multi-frame: every frame's functional-group values must be usable (a non-finite rescale is refused).
    if (ds.elements.x52009229 || ds.elements.x52009230) for (let i = 0; i < image.numberOfFrames; i++) frameValues(ds, i, name);
    if (ds.elements.x7fe00010?.encapsulatedPixelData) decodeDataSet(ds, name, 0);
    return { header, image };
  });
}

/** Loads the codec the file needs, then reads it. */
export async function readForImport(bytes: Uint8Array, name: string): Promise<ReadForImport> {
  const ts = peekTransferSyntax(bytes);
  if (ts) await prepareCodec(ts).catch(() => undefined); // a codec that cannot load shows as DECODE_FAILED
  return readForImportSync(bytes, name);
}
