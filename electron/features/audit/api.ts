/** The audit feature's part of the contract: the tamper-evident audit log (list, verify). Runs anywhere. */
import { defineFeatureApi, event, method, returns } from '../../common/feature-api.js';
import { integer, object, optional, string } from '../../common/validate.js';

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

const auditQuery = object({
  limit: optional(integer({ min: 1, max: 1000 })),
  /** Return events with seq < beforeSeq (paging backwards from the newest). */
  beforeSeq: optional(integer({ min: 1 })),
  eventCode: optional(string({ min: 1, max: 64 })),
  participantId: optional(string({ min: 1, max: 256 })),
});

export type AuditQuery = ReturnType<typeof auditQuery>;

export const auditApi = defineFeatureApi({
  methods: {
    'audit.list': method(auditQuery, returns<{ events: AuditEvent[]; total: number }>()),
    'audit.verify': method(object({}), returns<AuditVerifyResult>()),
  },
  events: {
    'audit.appended': event<{ seq: number; eventCode: string }>(),
  },
});
