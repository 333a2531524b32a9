/**
 * DICOM audit codes (PS3.15 Annex A.5 / PS3.16 CID 400-series, IHE ATNA) used by this workstation.
 * Event IDs are coded in the DCM scheme; outcome maps to the ATNA EventOutcomeIndicator 0/4/8/12.
 */
import type { AuditEvent, AuditOutcome } from '../api.js';

export type Code = AuditEvent['eventId'];

const dcm = (code: string, meaning: string): Code => ({ code, system: 'DCM', meaning });

/** Audit Event IDs (CID 400). */
export const EVENT_ID = {
  applicationActivity: dcm('110100', 'Application Activity'),
  auditLogUsed: dcm('110101', 'Audit Log Used'),
  instancesAccessed: dcm('110103', 'DICOM Instances Accessed'),
  export: dcm('110106', 'Export'),
  import: dcm('110107', 'Import'),
  query: dcm('110112', 'Query'),
  securityAlert: dcm('110113', 'Security Alert'),
} as const;

/** Audit Event Type Codes (CID 401 application activity, CID 403 security alert). */
export const EVENT_TYPE = {
  applicationStart: dcm('110120', 'Application Start'),
  applicationStop: dcm('110121', 'Application Stop'),
  nodeAuthentication: dcm('110126', 'Node Authentication'),
  securityConfiguration: dcm('110129', 'Security Configuration'),
  softwareConfiguration: dcm('110131', 'Software Configuration'),
  useOfRestrictedFunction: dcm('110132', 'Use of Restricted Function'),
  auditRecordingStopped: dcm('110133', 'Audit Recording Stopped'),
  auditRecordingStarted: dcm('110134', 'Audit Recording Started'),
  objectSecurityAttributesChanged: dcm('110135', 'Object Security Attributes Changed'),
} as const;

/**
 * Application-specific event type codes (local coding scheme '99MFP'; DICOM reserves designators starting with '99'
 * for private schemes). An AI inference is audited as DCM 110100 Application Activity with type MFP-INF; a scan the
 * detector flags as possibly adversarial adds a DCM 110113 Security Alert with type MFP-ADV.
 */
export const MFP_EVENT_TYPE = {
  aiInference: { code: 'MFP-INF', system: '99MFP', meaning: 'AI Inference' },
  suspectedAdversarialInput: { code: 'MFP-ADV', system: '99MFP', meaning: 'Suspected Adversarial Input' },
} as const satisfies Record<string, Code>;

/** ATNA EventOutcomeIndicator values. */
export const OUTCOME_INDICATOR: Readonly<Record<AuditOutcome, number>> = {
  success: 0,
  'minor-failure': 4,
  'serious-failure': 8,
  'major-failure': 12,
};

/** Participant object id types used in `participants[].type` (ATNA ParticipantObjectIDTypeCode). */
export const PARTICIPANT = {
  patientId: 'PatientID', // RFC-3881 2 "Patient Number"
  studyInstanceUid: 'StudyInstanceUID', // DCM 110180
  sopClassUid: 'SOPClassUID', // DCM 110181
  seriesInstanceUid: 'SeriesInstanceUID',
  sopInstanceUid: 'SOPInstanceUID',
  file: 'File',
} as const;
