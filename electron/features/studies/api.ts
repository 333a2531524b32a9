/**
 * The studies feature's part of the contract: the local study store (list, open, frames) and DICOM import.
 * Runs anywhere; imports only electron/common.
 */
import { defineFeatureApi, event, method, returns } from '../../common/feature-api.js';
import { ApiError } from '../../common/api-error.js';
import { arrayOf, bytes, integer, object, optional, string, UID, type Check } from '../../common/validate.js';


export interface StudySummary {
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyDescription?: string;
  accessionNumber?: string;
  modalities: string[];
  seriesCount: number;
  instanceCount: number;
}

export interface SeriesSummary {
  seriesInstanceUid: string;
  studyInstanceUid: string;
  seriesNumber?: number;
  seriesDescription?: string;
  modality?: string;
  instanceCount: number;
  /** SOP Instance UID of the middle image, for thumbnails. */
  thumbnailSopInstanceUid?: string;
}

export interface InstanceSummary {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  instanceNumber?: number;
  /** Position along the stack normal, when ImagePositionPatient/Orientation are present. */
  sliceLocation?: number;
  rows: number;
  columns: number;
  /** Multi-frame instances only: how many frames `instances.frame` can return (its `frame` is 0-based). */
  numberOfFrames?: number;
}

/** A decoded frame in modality units (rescale slope/intercept applied), ready for window/level. */
export interface Frame {
  sopInstanceUid: string;
  rows: number;
  columns: number;
  /** Modality values (e.g. MR signal), row-major, length rows*columns. */
  pixels: Float32Array;
  minValue: number;
  maxValue: number;
  photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2';
  /** From the DICOM's own VOI LUT module (first pair) when present. */
  windowCenter?: number;
  windowWidth?: number;
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  sliceLocation?: number;
  instanceNumber?: number;
  /** Image Position (Patient) (0020,0032): the centre of the first pixel, in LPS millimetres. */
  imagePositionPatient?: [number, number, number];
  /** Image Orientation (Patient) (0020,0037): row direction then column direction (unit vectors, LPS). */
  imageOrientationPatient?: [number, number, number, number, number, number];
}

export interface ImportFileError {
  /** File name or path as given to the import. */
  file: string;
  /** Machine-readable reason. */
  code:
    | 'NOT_DICOM'
    | 'TRUNCATED'
    | 'UNSUPPORTED_TRANSFER_SYNTAX'
    | 'NO_PIXEL_DATA'
    | 'MISSING_UID'
    | 'UNSUPPORTED_PIXEL_FORMAT'
    /** A different object with the same SOP Instance UID is already stored; the stored one was kept. */
    | 'SOP_UID_CONFLICT'
    /** The file declares (or inflates to) more than the decoder's limits allow; the message names the numbers. */
    | 'TOO_LARGE'
    /** The file breaks a rule the workstation enforces (UI syntax and length, VR, element length, finite rescale). */
    | 'INVALID_DICOM'
    /** A compressed frame the codec could not decode (corrupt codestream); the message names the frame and codec. */
    | 'DECODE_FAILED'
    | 'IO_ERROR';
  message: string;
}

export interface ImportResult {
  imported: number;
  /** Instances already in the store (same SOP Instance UID and same bytes): nothing written. */
  duplicates: number;
  errors: ImportFileError[];
  studies: string[];
  /** Files deliberately not imported (DICOMDIR index files, hidden and README/text files in folders). */
  skipped?: number;
}

/** The measurement and annotation tools whose drawings are stored (Cornerstone3D tool names). */
export const ANNOTATION_TOOLS = ['Length', 'Angle', 'EllipticalROI', 'RectangleROI', 'Probe', 'ArrowAnnotate'] as const;
export type AnnotationTool = (typeof ANNOTATION_TOOLS)[number];

/**
 * One measurement or annotation drawn on an instance, as stored: its tool, its points in patient coordinates (mm,
 * the frame's own Image Position/Orientation, so it is redrawn exactly where it was drawn), an arrow's text, and
 * the reading shown when it was saved (for the record; the viewer recomputes readings from the pixels).
 */
export interface StoredAnnotation {
  uid: string;
  tool: AnnotationTool;
  points: Array<[number, number, number]>;
  text?: string;
  summary?: string;
}

/** What is stored for one instance, with who saved it last and when. */
export interface InstanceAnnotations {
  sopInstanceUid: string;
  annotations: StoredAnnotation[];
  updatedUtc: string;
  updatedBy: string;
}

const finite: Check<number> = (v, path) => {
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 1e7) return v;
  throw new ApiError('BAD_REQUEST', `${path}: expected a finite number`);
};
const point: Check<[number, number, number]> = (v, path) => {
  const a = arrayOf(finite, { min: 3, max: 3 })(v, path);
  return [a[0], a[1], a[2]];
};
const annotationTool: Check<AnnotationTool> = (v, path) => {
  if (typeof v === 'string' && (ANNOTATION_TOOLS as readonly string[]).includes(v)) return v as AnnotationTool;
  throw new ApiError('BAD_REQUEST', `${path}: expected one of ${ANNOTATION_TOOLS.join(', ')}`);
};
const storedAnnotation = object({
  uid: string({ min: 1, max: 64 }),
  tool: annotationTool,
  points: arrayOf(point, { min: 1, max: 16 }),
  text: optional(string({ max: 500 })),
  summary: optional(string({ max: 200 })),
});
/** Largest `import.files` request: 256 MiB bounds the browser host's memory per upload (the body is held once). */
export const IMPORT_FILES_MAX_BODY_BYTES = 256 * 1024 * 1024;

export const studiesApi = defineFeatureApi({
  methods: {
    'studies.list': method(object({ query: optional(string({ max: 200 })) }), returns<StudySummary[]>()),
    'studies.series': method(object({ studyInstanceUid: UID }), returns<SeriesSummary[]>()),
    /** Opening a series is audited (study access). Instances come sorted along the stack. */
    'series.open': method(object({ seriesInstanceUid: UID }), returns<{ series: SeriesSummary; instances: InstanceSummary[] }>()),
    /** The stored measurements and annotations of a series' instances (instances without any are left out). */
    'annotations.list': method(object({ seriesInstanceUid: UID }), returns<InstanceAnnotations[]>()),
    /**
     * Replace the measurements and annotations of one instance (an empty list removes them). Audited as DICOM
     * Instances Accessed with action Update, naming the study, patient, instance and tools.
     */
    'annotations.save': method(
      object({ sopInstanceUid: UID, annotations: arrayOf(storedAnnotation, { max: 200 }) }),
      returns<{ saved: number; updatedUtc: string }>(),
    ),
    /** One frame of an instance (default the first; multi-frame instances: `frame` 0 … numberOfFrames − 1). */
    'instances.frame': method(object({ sopInstanceUid: UID, frame: optional(integer({ min: 0, max: 65535 })) }), returns<Frame>()),
    /**
     * Import file bytes sent by the UI (browser upload or Electron drop). One request carries at most
     * IMPORT_FILES_MAX_BODY_BYTES (the UI sends batches of 32 MiB; a larger single file is imported from disk with
     * `medfedpure import`).
     */
    'import.files': method(
      object({ files: arrayOf(object({ name: string({ min: 1, max: 1024 }), bytes: bytes({ max: IMPORT_FILES_MAX_BODY_BYTES }) }), { max: 100_000 }) }),
      returns<ImportResult>(),
      { maxBodyBytes: IMPORT_FILES_MAX_BODY_BYTES },
    ),
  },
  events: {
    'studies.changed': event<{ studyInstanceUids: string[] }>(),
    'import.progress': event<{ done: number; total: number; file: string }>(),
  },
});
