/**
 * What the agent tells the site's audit trail. The app implements `AuditSink` over its audit service (the same store
 * as the other DICOM-style audit events); the agent only appends.
 *
 * Event ids are DICOM audit message codes (DCM, PS3.15 A.5 / RFC 3881 structure):
 *   110100 Application Activity  the agent started, connected, stopped; policy refusals (outcome 4)
 *   110106 Export                a round: something derived from site data (weights, metrics) left the site
 *   110113 Security Alert        tampered or hostile input from the SuperLink (hash mismatch, NaN, wrong shapes, caps)
 * Outcomes: 0 success, 4 minor failure (refused by policy, round skipped), 8 serious failure (round failed),
 * 12 major failure (agent stopped).
 */
export interface AuditEventId {
  code: '110100' | '110106' | '110113';
  codeSystem: 'DCM';
  displayName: 'Application Activity' | 'Export' | 'Security Alert';
}

export const AUDIT_EVENTS = {
  applicationActivity: { code: '110100', codeSystem: 'DCM', displayName: 'Application Activity' },
  export: { code: '110106', codeSystem: 'DCM', displayName: 'Export' },
  securityAlert: { code: '110113', codeSystem: 'DCM', displayName: 'Security Alert' },
} as const satisfies Record<string, AuditEventId>;

/** RFC 3881 EventActionCode: Create, Read, Update, Delete, Execute. */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';
/** RFC 3881 EventOutcomeIndicator. */
export type AuditOutcome = 0 | 4 | 8 | 12;

export interface AuditEvent {
  eventId: AuditEventId;
  action: AuditAction;
  outcome: AuditOutcome;
  /** ISO 8601 UTC. */
  occurredAt: string;
  /** Short machine-readable kind, e.g. "fl.round", "fl.refused", "fl.connected". */
  kind: string;
  details: Record<string, string | number | boolean | null>;
}

export interface AuditSink {
  append(event: AuditEvent): void | Promise<void>;
}

/** A round as the audit records it. */
export interface RoundAudit {
  superlink: string;
  runId: string;
  round: string;
  messageId: string;
  messageType: string;
  /** sha256 of the shared arrays received / sent (weights-sha256 over names, shapes, float32 bytes); null if none. */
  receivedSha256: string | null;
  sentSha256: string | null;
  examples: number;
  clippingNorm: number | null;
  updateNorm: number | null;
  noiseMultiplier: number;
  epsilon: number | null;
  delta: number | null;
  durationS: number;
  outcome: 'ok' | 'refused' | 'failed';
  error: string | null;
}

/** An AuditSink that keeps events in memory (tests, the CLI's --json output). */
export class MemoryAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];
  append(event: AuditEvent): void {
    this.events.push(event);
  }
}
