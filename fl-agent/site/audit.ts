/**
 * What the agent tells the site's audit trail. The app implements `AuditSink` over its audit service (the same store
 * as the other DICOM-style audit events); the agent only appends.
 *
 * Event ids are DICOM audit message codes (DCM, PS3.15 A.5 / RFC 3881 structure), in the shape of the app's own
 * audit codes ({ code, system, meaning }) so the app's sink passes them through:
 *   110100 Application Activity  the agent started, connected, stopped; policy refusals (outcome 4)
 *   110106 Export                a round: something derived from site data (weights, metrics) left the site
 *   110113 Security Alert        tampered or hostile input from the SuperLink (hash mismatch, NaN, wrong shapes, caps)
 * Outcomes (ATNA 0/4/8/12): success; minor-failure (refused by policy or as hostile input, nothing was trained);
 * serious-failure (a round failed: transport, timeout, training error); major-failure (the agent had to stop).
 */
export interface AuditCode {
  code: string;
  system: string;
  meaning: string;
}

/** DICOM audit event ids (DCM, CID 400) the agent uses. Same shape as the app's audit codes. */
export const AUDIT_EVENTS = {
  applicationActivity: { code: '110100', system: 'DCM', meaning: 'Application Activity' },
  export: { code: '110106', system: 'DCM', meaning: 'Export' },
  securityAlert: { code: '110113', system: 'DCM', meaning: 'Security Alert' },
} as const satisfies Record<string, AuditCode>;

/**
 * Event type codes in the app's private scheme (99MFP; DICOM reserves "99" designators for private schemes), so the
 * audit view can filter federated-learning events.
 */
export const FL_EVENT_TYPES = {
  round: { code: 'MFP-FLR', system: '99MFP', meaning: 'Federated Learning Round' },
  refusal: { code: 'MFP-FLX', system: '99MFP', meaning: 'Federated Learning Refusal' },
  agent: { code: 'MFP-FLA', system: '99MFP', meaning: 'Federated Learning Agent' },
} as const satisfies Record<string, AuditCode>;

/** RFC 3881 / ATNA EventActionCode: Create, Read, Update, Delete, Execute. */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';
/** ATNA EventOutcomeIndicator 0 / 4 / 8 / 12, as the app's audit store names them. */
export type AuditOutcome = 'success' | 'minor-failure' | 'serious-failure' | 'major-failure';

export interface AuditEvent {
  eventId: AuditCode;
  eventTypeCode: AuditCode;
  action: AuditAction;
  outcome: AuditOutcome;
  /** ISO 8601 UTC. */
  timeUtc: string;
  /** Short machine-readable kind, e.g. "fl.round", "fl.refused", "fl.connected". */
  kind: string;
  /** Participant objects, e.g. [{ type: 'FlowerRun', id: '42' }, { type: 'SuperLink', id: 'host:9092' }]. */
  participants: Array<{ type: string; id: string }>;
  details: Record<string, string | number | boolean | null>;
}

/**
 * Implemented by the app over its audit store (one writer): the agent's events map 1:1 onto the store's input, with
 * the app filling in user ("fl-agent", role "system") and workstation.
 */
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
