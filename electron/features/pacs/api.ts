/**
 * The PACS feature's part of the contract: configured DICOMweb endpoints, QIDO-RS search, WADO-RS retrieval into
 * the local study store (a background job with progress events and cancel), STOW-RS store of local series and of
 * AI results as DICOM Structured Reports. Runs anywhere; imports only electron/common.
 *
 * The renderer never talks to a PACS itself: every request goes through these methods to the services side, which
 * holds the credentials. Endpoint listings never carry a password or token back (only whether one is set).
 */
import { ApiError } from '../../common/api-error.js';
import { defineFeatureApi, event, method, returns } from '../../common/feature-api.js';
import { integer, object, optional, string, UID, type Check } from '../../common/validate.js';

/** A string from a fixed set. */
function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return (v, path) => {
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    throw new ApiError('BAD_REQUEST', `${path || 'request'}: expected one of ${values.join(', ')}`);
  };
}

/** An endpoint id: short, lower-case, safe in file names, logs and URLs. */
export const ENDPOINT_ID: Check<string> = (v, path) => {
  if (typeof v === 'string' && /^[a-z0-9][a-z0-9-]{0,39}$/.test(v)) return v;
  throw new ApiError('BAD_REQUEST', `${path || 'request'}: expected an endpoint id (1..40 of a-z, 0-9, -)`);
};

export type PacsAuthKind = 'none' | 'basic' | 'bearer';

/** A configured endpoint as the UI sees it: never the secret itself. */
export interface PacsEndpointInfo {
  id: string;
  /** Display name, e.g. "Radiology PACS". */
  name: string;
  /** DICOMweb base URL (QIDO/WADO/STOW root), e.g. https://pacs.example.org/dicom-web. */
  url: string;
  auth: { kind: PacsAuthKind; username?: string; hasSecret: boolean };
  /** PEM file of extra trusted CA certificates for https. */
  caFile?: string;
  /** Per-request idle timeout in milliseconds. */
  timeoutMs: number;
}

/** Where a study or series from the PACS stands in the local store. */
export type LocalState = 'none' | 'partial' | 'complete';

export interface PacsStudy {
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyTime?: string;
  studyDescription?: string;
  accessionNumber?: string;
  modalities: string[];
  seriesCount?: number;
  instanceCount?: number;
  local: LocalState;
}

export interface PacsSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  instanceCount?: number;
  local: LocalState;
}

export interface PacsSearchResult {
  endpointId: string;
  studies: PacsStudy[];
  offset: number;
  limit: number;
  /** The PACS returned a full page: ask again with offset + limit for more. */
  mayHaveMore: boolean;
}

/** A retrieval job's state, as announced by `pacs.progress` and listed by `pacs.jobs`. */
export interface PacsJob {
  jobId: string;
  endpointId: string;
  studyInstanceUid: string;
  /** The patient, once the first instance is in (for progress displays). */
  patientName?: string;
  /** Set when one series was asked for (absent: the whole study). */
  requestedSeriesInstanceUid?: string;
  /** The series being fetched now (a study retrieval goes series by series). */
  seriesInstanceUid?: string;
  state: 'running' | 'complete' | 'failed' | 'cancelled';
  /** Instances the PACS lists for what is being retrieved, and how many are in the local store now. */
  expected: number;
  done: number;
  /** Bytes received over the wire so far. */
  bytes: number;
  /** Instances the importer refused (e.g. a transfer syntax it cannot decode), by SOP Instance UID. */
  refused: Array<{ sopInstanceUid: string; code: string; message: string }>;
  error?: { code: PacsErrorCode; message: string };
  startedUtc: string;
  finishedUtc?: string;
}

export type PacsErrorCode = 'UNREACHABLE' | 'HTTP_STATUS' | 'TIMEOUT' | 'PARTIAL' | 'BAD_RESPONSE' | 'CANCELLED' | 'TLS' | 'REFUSED';

export interface PacsStoreResult {
  endpointId: string;
  /** SOP Instance UIDs the PACS acknowledged, and those it refused with its reason. */
  stored: string[];
  failed: Array<{ sopInstanceUid: string; reason: string }>;
  /** For `pacs.sendReport`: the SR's own UIDs. */
  report?: { sopInstanceUid: string; seriesInstanceUid: string };
}

/** An AI report (DICOM SR written by this workstation) found on a PACS or sent to it, read back for display. */
export interface PacsReport {
  sopInstanceUid: string;
  studyInstanceUid: string;
  sourceSeriesInstanceUid: string;
  endpointId: string;
  /** When the report was written (its Content Date/Time, UTC). */
  createdUtc: string;
  receivedUtc: string;
  /** The writing software, e.g. "MedFedPure Workstation 0.1.0". */
  software: string;
  /** Verification Flag: false = not verified by a physician. */
  verified: boolean;
  images: Array<{ sopInstanceUid: string; label: 'tumour' | 'no-tumour'; pTumour: number; flagged: boolean; score: number | null; threshold: number | null; tStar: number }>;
  models: Array<{ name: string; version: string; sha256: string; trained: boolean }>;
}

const SEARCH_TEXT = string({ max: 64 });

export const pacsApi = defineFeatureApi({
  methods: {
    'pacs.endpoints': method(object({}), returns<PacsEndpointInfo[]>()),
    /** Adds or replaces an endpoint (audited as a configuration change). An absent secret keeps the stored one. */
    'pacs.saveEndpoint': method(
      object({
        id: ENDPOINT_ID,
        name: string({ min: 1, max: 100 }),
        url: string({ min: 8, max: 2048 }),
        auth: object({ kind: oneOf(['none', 'basic', 'bearer'] as const), username: optional(string({ max: 256 })), secret: optional(string({ max: 8192 })) }),
        caFile: optional(string({ max: 4096 })),
        timeoutMs: optional(integer({ min: 1000, max: 600_000 })),
      }),
      returns<PacsEndpointInfo>(),
    ),
    'pacs.removeEndpoint': method(object({ id: ENDPOINT_ID }), returns<{ removed: boolean }>()),
    /** QIDO-RS study search. Patient name accepts DICOM wildcards (* and ?); date is YYYYMMDD or a YYYYMMDD-YYYYMMDD range. */
    'pacs.search': method(
      object({
        endpointId: ENDPOINT_ID,
        patientName: optional(SEARCH_TEXT),
        patientId: optional(SEARCH_TEXT),
        studyDate: optional(string({ max: 17 })),
        modality: optional(string({ max: 16 })),
        accessionNumber: optional(SEARCH_TEXT),
        studyInstanceUid: optional(UID),
        offset: optional(integer({ min: 0, max: 1_000_000 })),
        limit: optional(integer({ min: 1, max: 500 })),
      }),
      returns<PacsSearchResult>(),
    ),
    /** QIDO-RS series of one study, each with its local state. */
    'pacs.series': method(object({ endpointId: ENDPOINT_ID, studyInstanceUid: UID }), returns<PacsSeries[]>()),
    /** Starts a background WADO-RS retrieval of a study (or one series); progress comes as `pacs.progress`. */
    'pacs.retrieve': method(object({ endpointId: ENDPOINT_ID, studyInstanceUid: UID, seriesInstanceUid: optional(UID) }), returns<{ jobId: string }>()),
    'pacs.cancel': method(object({ jobId: string({ min: 1, max: 64 }) }), returns<{ cancelled: boolean }>()),
    /** Retrieval jobs of this run (latest first), so a reloaded UI picks up where it was. */
    'pacs.jobs': method(object({}), returns<PacsJob[]>()),
    /** For the study list's "in PACS / local" marker: which local studies came from (or were stored to) a PACS. */
    'pacs.localStates': method(object({}), returns<Array<{ studyInstanceUid: string; endpointId: string; local: LocalState; stored: boolean }>>()),
    /** AI reports (ours, read back from DICOM SR) about a series: fetched with its study from a PACS, or sent there. */
    'pacs.reports': method(object({ seriesInstanceUid: UID }), returns<PacsReport[]>()),
    /** STOW-RS of a local series (audited as an export). */
    'pacs.storeSeries': method(object({ endpointId: ENDPOINT_ID, seriesInstanceUid: UID }), returns<PacsStoreResult>()),
    /** Writes the series' stored AI results as a DICOM Comprehensive SR and sends it by STOW-RS (audited). */
    'pacs.sendReport': method(object({ endpointId: ENDPOINT_ID, seriesInstanceUid: UID }), returns<PacsStoreResult>()),
  },
  events: {
    'pacs.progress': event<PacsJob>(),
  },
});
