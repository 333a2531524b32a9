/**
 * Writes a small, valid DICOM Part 10 MR image with dcmjs for the import test: fresh UIDs each call,
 * explicit VR little endian, 16-bit unsigned pixels with a simple gradient-and-disc pattern.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

interface DcmjsData {
  DicomDict: new (meta: unknown) => { dict: unknown; write(): ArrayBuffer };
  DicomMetaDictionary: { denaturalizeDataset(ds: Record<string, unknown>): unknown };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData };

/** A random UID under the UUID-derived root 2.25 (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString()}`;
}

export interface TestDicom {
  bytes: Uint8Array;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  patientName: string;
  patientId: string;
}

export function makeTestDicom(opts: {
  patientName: string; patientId: string; rows?: number; columns?: number;
  /** Replaces the gradient-and-disc pattern (rows × columns values). */
  pixels?: Uint16Array;
  /** Extra or replaced attributes, dcmjs naturalized names (e.g. BodyPartExamined, ImageOrientationPatient). */
  attributes?: Record<string, unknown>;
}): TestDicom {
  const rows = opts.rows ?? 64;
  const columns = opts.columns ?? 64;
  const studyInstanceUid = newUid();
  const seriesInstanceUid = newUid();
  const sopInstanceUid = newUid();
  const mrImageStorage = '1.2.840.10008.5.1.4.1.1.4';
  const pixels = opts.pixels ?? new Uint16Array(rows * columns);
  for (let y = 0; y < rows && !opts.pixels; y++) {
    for (let x = 0; x < columns; x++) {
      const r = Math.hypot(x - columns / 2, y - rows / 2);
      pixels[y * columns + x] = r < rows / 3 ? 800 + 4 * x : 10 * y;
    }
  }
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: mrImageStorage,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.1234567890',
  };
  const dataset = {
    SOPClassUID: mrImageStorage,
    SOPInstanceUID: sopInstanceUid,
    StudyInstanceUID: studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    PatientName: opts.patientName,
    PatientID: opts.patientId,
    StudyDate: '20250102',
    StudyTime: '101500',
    StudyDescription: 'E2E import test',
    SeriesDescription: 'E2E gradient',
    Modality: 'MR',
    SeriesNumber: 7,
    InstanceNumber: 1,
    Rows: rows,
    Columns: columns,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    PixelSpacing: [1, 1],
    WindowCenter: 700,
    WindowWidth: 1200,
    PixelData: pixels.buffer,
    _vrMap: { PixelData: 'OW' },
    ...opts.attributes,
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return {
    bytes: new Uint8Array(dict.write()),
    studyInstanceUid, seriesInstanceUid, sopInstanceUid,
    patientName: opts.patientName, patientId: opts.patientId,
  };
}
