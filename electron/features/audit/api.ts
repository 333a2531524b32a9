/**
 * The audit feature's part of the contract: the tamper-evident audit log and its review by compliance officers
 * (and admins): filtered, paged search, facets, exports (CSV, FHIR R5 AuditEvent Bundle, DICOM PS3.15 ATNA XML),
 * the live chain status every signed-in user sees, and an admin's acknowledgement of a broken chain. Viewing
 * (DCM 110101 Audit Log Used) and exporting (DCM 110106 Export) the log are themselves audited. Runs anywhere.
 */
import { defineFeatureApi, event, method, returns } from '../../common/feature-api.js';
import { ApiError } from '../../common/api-error.js';
import { integer, object, oneOf, optional, string, type Check } from '../../common/validate.js';

export type AuditOutcome = 'success' | 'minor-failure' | 'serious-failure' | 'major-failure';

export interface AuditEvent {
  seq: number;
  /** DICOM / IHE ATNA event id, e.g. 'DCM 110114 User Authentication' expressed as code + meaning. */
  eventId: { code: string; system: string; meaning: string };
  eventTypeCode?: { code: string; system: string; meaning: string };
  /** ATNA action: C(reate) R(ead) U(pdate) D(elete) E(xecute). */
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  outcome: AuditOutcome;
  timeUtc: string;
  userId: string;
  userRole: string;
  workstation: string;
  /** Participant objects, e.g. [{ type: 'StudyInstanceUID', id: '1.2.3' }]. */
  participants: Array<{ type: string; id: string }>;
  details: Record<string, unknown>;
  prevHash: string;
  entryHash: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  rows: number;
  /** The first row whose hash or link does not match, when !ok. */
  firstBroken?: { seq: number; reason: string };
}

/** An ISO 8601 date-time with a zone (or a bare date, meaning its midnight UTC), normalised to `toISOString()` form. */
export const ISO_TIME: Check<string> = (v, path) => {
  if (typeof v === 'string' && v.length <= 40 && /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v)) {
    const t = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
    if (Number.isFinite(t)) return new Date(t).toISOString();
  }
  throw new ApiError('BAD_REQUEST', `${path || 'time'}: expected an ISO 8601 time with a zone, e.g. 2026-01-05T08:00:00Z, or a date`);
};

export const AUDIT_OUTCOMES = ['success', 'minor-failure', 'serious-failure', 'major-failure'] as const;

/** The compliance filter's fields (see AuditFilter in audit-store.ts): from ≤ time < to, prefixes for participants. */
export const auditFilterShape = {
  fromUtc: optional(ISO_TIME),
  toUtc: optional(ISO_TIME),
  userId: optional(string({ min: 1, max: 64 })),
  /** Prefix of a Patient ID, Study/SOP Instance UID or other participant id. */
  participant: optional(string({ min: 1, max: 256 })),
  eventCode: optional(string({ min: 1, max: 64 })),
  eventTypeCode: optional(string({ min: 1, max: 64 })),
  outcome: optional(oneOf(AUDIT_OUTCOMES)),
};
export const auditFilter = object(auditFilterShape);
export type AuditFilterRequest = ReturnType<typeof auditFilter>;

const auditQuery = object({
  limit: optional(integer({ min: 1, max: 1000 })),
  /** Return events with seq < beforeSeq (paging backwards from the newest). */
  beforeSeq: optional(integer({ min: 1 })),
  eventCode: optional(string({ min: 1, max: 64 })),
  participantId: optional(string({ min: 1, max: 256 })),
});

export type AuditQuery = ReturnType<typeof auditQuery>;

/** The raw audit log is for compliance officers and administrators. */
const REVIEWERS = { roles: ['compliance', 'admin'] } as const;

export type ExportFormat = 'csv' | 'fhir' | 'atna';

/** A break of the hash chain found by a check, and who acknowledged it. */
export interface ChainBreak {
  id: number;
  detectedUtc: string;
  firstBrokenSeq: number;
  reason: string;
  /** The Security Alert row that recorded it. */
  alertSeq: number | null;
  acknowledged: { by: string; utc: string; note: string } | null;
}

export interface ChainStatus {
  /** The chain verified from the first row to the newest one checked (while `checking`: no break found so far). */
  ok: boolean;
  /** The walk at start is still going through a long log. */
  checking: boolean;
  /** Rows checked. */
  rows: number;
  firstBroken?: { seq: number; reason: string };
  /** Last time rows were checked (incrementally, after each append) and last full walk of the chain. */
  checkedUtc: string;
  fullCheckUtc: string;
  /** Breaks no admin has acknowledged yet: shown to every user. */
  unacknowledged: ChainBreak[];
  /** Every break recorded, newest first (at most 20). */
  breaks: ChainBreak[];
}

export interface ExportResult {
  format: ExportFormat;
  filename: string;
  contentType: string;
  text: string;
  count: number;
  sha256: string;
}

export interface AuditFacets {
  events: Array<{ code: string; meaning: string; count: number }>;
  users: Array<{ userId: string; userRole: string; count: number }>;
}

/** Largest export the UI may ask for in one go; the CLI streams any size. */
export const MAX_UI_EXPORT_ROWS = 100_000;

export const auditApi = defineFeatureApi({
  methods: {
    'audit.list': method(auditQuery, returns<{ events: AuditEvent[]; total: number }>(), REVIEWERS),
    'audit.verify': method(object({}), returns<AuditVerifyResult>(), REVIEWERS),
    /** A page of matching events, newest first (keyset paging: beforeSeq). Audited (110101) once per filter per session. */
    'audit.search': method(
      object({ ...auditFilterShape, beforeSeq: optional(integer({ min: 1 })), limit: optional(integer({ min: 1, max: 500 })) }),
      returns<{ events: AuditEvent[]; total: number }>(),
      REVIEWERS,
    ),
    /** Event types and users present in the log, with counts (filter choices). */
    'audit.facets': method(object({}), returns<AuditFacets>(), REVIEWERS),
    /** Matching events per UTC day and event id (the last 90 days with events), for the review's plot. */
    'audit.perDay': method(object(auditFilterShape), returns<Array<{ day: string; code: string; meaning: string; count: number }>>(), REVIEWERS),
    /** The matching events in one format. Audited as DCM 110106 Export with the filter, count and sha256. */
    'audit.export': method(object({ ...auditFilterShape, format: oneOf(['csv', 'fhir', 'atna'] as const) }), returns<ExportResult>(), REVIEWERS),
    /** The chain's live verification status: every signed-in user sees it (a broken chain is everyone's business). */
    'audit.chainStatus': method(object({}), returns<ChainStatus>()),
    /** Walks the whole chain now. */
    'audit.verifyNow': method(object({}), returns<ChainStatus>(), REVIEWERS),
    /** An admin has seen a break and says what was done about it; audited. */
    'audit.acknowledgeBreak': method(object({ id: integer({ min: 1 }), note: string({ min: 3, max: 500 }) }), returns<ChainStatus>(), { roles: ['admin'] }),
  },
  events: {
    'audit.appended': event<{ seq: number; eventCode: string }>(),
  },
});
