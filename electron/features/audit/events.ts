/**
 * Builders for the audit records this workstation writes, so every caller fills the DICOM/ATNA fields the same
 * way. Each takes the actor (user, role, workstation) and returns an AuditEventInput for AuditStore.append.
 */
import type { AuditEvent, AuditOutcome, ImportResult } from '../api.js';
import type { AuditEventInput } from './audit-store.js';
import { EVENT_ID, EVENT_TYPE, PARTICIPANT, type Code } from './codes.js';

export interface AuditActor {
  userId: string;
  userRole: string;
  workstation: string;
}

type Participants = AuditEvent['participants'];

/** DCM 110100 Application Activity / 110120 Application Start or 110121 Application Stop. */
export function applicationActivity(actor: AuditActor, what: 'start' | 'stop', details: Record<string, unknown> = {}): AuditEventInput {
  return {
    ...actor,
    eventId: EVENT_ID.applicationActivity,
    eventTypeCode: what === 'start' ? EVENT_TYPE.applicationStart : EVENT_TYPE.applicationStop,
    action: 'E',
    outcome: 'success',
    details,
  };
}

/** DCM 110107 Import: one record per import operation, naming every study and patient it touched. */
export function importEvent(
  actor: AuditActor,
  result: ImportResult,
  patients: readonly string[],
  source: Record<string, unknown>,
): AuditEventInput {
  const outcome: AuditOutcome = result.errors.length === 0 ? 'success' : result.imported + result.duplicates > 0 ? 'minor-failure' : 'serious-failure';
  const participants: Participants = [
    ...result.studies.map((id) => ({ type: PARTICIPANT.studyInstanceUid, id })),
    ...[...new Set(patients)].map((id) => ({ type: PARTICIPANT.patientId, id })),
  ];
  return {
    ...actor,
    eventId: EVENT_ID.import,
    action: 'C',
    outcome,
    participants,
    details: {
      ...source,
      imported: result.imported,
      duplicates: result.duplicates,
      skipped: result.skipped ?? 0,
      errors: result.errors.length,
      // The first few failures, so the log says what went wrong without growing unbounded.
      errorFiles: result.errors.slice(0, 20).map((e) => ({ file: e.file, code: e.code })),
    },
  };
}

/** DCM 110103 DICOM Instances Accessed (action R): a study opened for viewing. */
export function instancesAccessed(
  actor: AuditActor,
  study: { studyInstanceUid: string; patientId?: string },
  details: Record<string, unknown>,
): AuditEventInput {
  const participants: Participants = [{ type: PARTICIPANT.studyInstanceUid, id: study.studyInstanceUid }];
  if (study.patientId !== undefined) participants.push({ type: PARTICIPANT.patientId, id: study.patientId });
  return { ...actor, eventId: EVENT_ID.instancesAccessed, action: 'R', outcome: 'success', participants, details };
}

/** DCM 110113 Security Alert, with an event type from CID 403 (e.g. EVENT_TYPE.securityConfiguration). */
export function securityAlert(
  actor: AuditActor,
  type: Code,
  details: Record<string, unknown>,
  opts: { outcome?: AuditOutcome; participants?: Participants } = {},
): AuditEventInput {
  return {
    ...actor,
    eventId: EVENT_ID.securityAlert,
    eventTypeCode: type,
    action: 'E',
    outcome: opts.outcome ?? 'minor-failure',
    participants: opts.participants ?? [],
    details,
  };
}
