/**
 * Audit log exports, one function per format, each over any iterable of AuditEvent (the store streams them):
 *
 *   CSV   RFC 4180 (CRLF, quoted fields); a cell that a spreadsheet would run as a formula (= + - @ tab CR) is
 *         prefixed with ' (OWASP CSV injection). One row per event, participants as "type=id; …", details as JSON.
 *   FHIR  an R5 Bundle (type 'collection') of AuditEvent resources (http://hl7.org/fhir/R5/auditevent.html):
 *         category = the DICOM event id, code = the event type, action, recorded, outcome.code (the ATNA outcome
 *         0/4/8/12 in the R5 audit-event-outcome system), the user as agent (requestor), the workstation as
 *         source.observer, each participant as an entity, and the row's details and hashes as entity details.
 *   ATNA  DICOM PS3.15 A.5 audit messages: one <AuditMessage> per event, wrapped in an <AuditMessages> element so a
 *         file holds many (each message alone validates against the DICOM audit message schema, schema/).
 *
 * All three carry seq, entry hash and previous hash, so an exported range can be checked against the chain.
 */
import type { AuditEvent } from './api.js';
import { OUTCOME_INDICATOR } from './codes.js';

// ---------------------------------------------------------------- CSV

const CSV_COLUMNS = [
  'seq', 'time_utc', 'event_code', 'event', 'event_type_code', 'event_type', 'action', 'outcome', 'user_id', 'user_role', 'workstation',
  'participants', 'details', 'prev_hash', 'entry_hash',
] as const;

/** One CSV cell: formula-looking text neutralised, quoted when it holds a comma, quote or line break. */
export function csvCell(value: string | number): string {
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(e: AuditEvent): string {
  return `${[
    e.seq, e.timeUtc, e.eventId.code, e.eventId.meaning, e.eventTypeCode?.code ?? '', e.eventTypeCode?.meaning ?? '', e.action, e.outcome,
    e.userId, e.userRole, e.workstation, e.participants.map((p) => `${p.type}=${p.id}`).join('; '), JSON.stringify(e.details), e.prevHash, e.entryHash,
  ].map(csvCell).join(',')}\r\n`;
}

// ---------------------------------------------------------------- FHIR R5

export const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
/** The workstation's private codes (99MFP) as a URN system. */
export const MFP_SYSTEM = 'urn:medfedpure:audit-event-type';
const OUTCOME_SYSTEM = 'http://terminology.hl7.org/CodeSystem/audit-event-outcome';
const SOURCE_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/security-source-type';

const systemUri = (s: string): string => (s === 'DCM' ? DCM_SYSTEM : s === '99MFP' ? MFP_SYSTEM : `urn:medfedpure:code-system:${encodeURIComponent(s)}`);

/** The FHIR identifier system of each participant type. */
const ENTITY_SYSTEM: Record<string, string> = {
  StudyInstanceUID: 'urn:dicom:uid',
  SeriesInstanceUID: 'urn:dicom:uid',
  SOPInstanceUID: 'urn:dicom:uid',
  SOPClassUID: 'urn:dicom:uid',
  PatientID: 'urn:medfedpure:patient-id',
  User: 'urn:medfedpure:user',
  File: 'urn:medfedpure:file',
};

export type FhirResource = Record<string, unknown>;

export function fhirAuditEvent(e: AuditEvent): FhirResource {
  const typeCode = e.eventTypeCode ?? e.eventId;
  return {
    resourceType: 'AuditEvent',
    id: `mfp-audit-${e.seq}`,
    category: [{ coding: [{ system: systemUri(e.eventId.system), code: e.eventId.code, display: e.eventId.meaning }] }],
    code: { coding: [{ system: systemUri(typeCode.system), code: typeCode.code, display: typeCode.meaning }] },
    action: e.action,
    recorded: e.timeUtc,
    outcome: { code: { system: OUTCOME_SYSTEM, code: String(OUTCOME_INDICATOR[e.outcome]), display: e.outcome } },
    agent: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
        role: [{ text: e.userRole }],
        who: { identifier: { system: 'urn:medfedpure:user', value: e.userId }, display: e.userId },
        requestor: true,
      },
    ],
    source: {
      observer: { display: e.workstation },
      type: [{ coding: [{ system: SOURCE_TYPE_SYSTEM, code: '4', display: 'Application Server' }] }],
    },
    entity: [
      ...e.participants.map((p) => ({
        what: { identifier: { system: ENTITY_SYSTEM[p.type] ?? 'urn:medfedpure:participant', value: p.id }, display: p.type },
      })),
      {
        what: { display: 'MedFedPure audit record' },
        detail: [
          { type: { text: 'seq' }, valueInteger: e.seq },
          { type: { text: 'details' }, valueString: JSON.stringify(e.details) },
          { type: { text: 'prevHash' }, valueString: e.prevHash },
          { type: { text: 'entryHash' }, valueString: e.entryHash },
        ],
      },
    ],
  };
}

/** A Bundle entry for one event. (Bundle.total is not used: FHIR allows it only on searchset and history bundles.) */
export function fhirEntry(e: AuditEvent): FhirResource {
  return { fullUrl: `urn:uuid:${uuidFromSeq(e)}`, resource: fhirAuditEvent(e) };
}

export function fhirBundle(events: Iterable<AuditEvent>, generatedUtc: string): FhirResource {
  const entry = [];
  for (const e of events) entry.push(fhirEntry(e));
  return { resourceType: 'Bundle', type: 'collection', timestamp: generatedUtc, entry };
}

/** A stable UUID-shaped id per row (from its entry hash): the same row always exports to the same fullUrl. */
function uuidFromSeq(e: AuditEvent): string {
  const h = e.entryHash.padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Checks a Bundle against the R5 AuditEvent structure: required elements and cardinalities, primitive formats, and the
 * codes bound with 'required' strength (action, Bundle.type). Returns the problems (empty: valid). The `fhir` package
 * installed here validates R4 (4.0.0) only and R5's AuditEvent differs from R4's (category/code/outcome/agent.who/
 * entity.what), so this hand-written check, transcribed from the R5 resource definition, is what validates.
 */
export function checkFhirR5AuditBundle(bundle: unknown): string[] {
  const problems: string[] = [];
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const need = (cond: boolean, msg: string) => { if (!cond) problems.push(msg); };
  const instant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
  const uri = /^\S+$/;
  const coding = (c: unknown, where: string) => {
    need(obj(c), `${where}: Coding expected`);
    if (!obj(c)) return;
    for (const k of Object.keys(c)) need(['system', 'version', 'code', 'display', 'userSelected'].includes(k), `${where}.${k}: not a Coding element`);
    if (c.system !== undefined) need(typeof c.system === 'string' && uri.test(c.system), `${where}.system: uri expected`);
    if (c.code !== undefined) need(typeof c.code === 'string' && /^[^\s]+( [^\s]+)*$/.test(c.code), `${where}.code: code expected`);
  };
  const concept = (c: unknown, where: string) => {
    need(obj(c), `${where}: CodeableConcept expected`);
    if (!obj(c)) return;
    for (const k of Object.keys(c)) need(['coding', 'text'].includes(k), `${where}.${k}: not a CodeableConcept element`);
    if (c.coding !== undefined) {
      need(Array.isArray(c.coding) && c.coding.length > 0, `${where}.coding: non-empty array expected`);
      if (Array.isArray(c.coding)) c.coding.forEach((x, i) => coding(x, `${where}.coding[${i}]`));
    }
  };
  const reference = (r: unknown, where: string) => {
    need(obj(r), `${where}: Reference expected`);
    if (!obj(r)) return;
    for (const k of Object.keys(r)) need(['reference', 'type', 'identifier', 'display'].includes(k), `${where}.${k}: not a Reference element`);
    need(r.reference !== undefined || r.identifier !== undefined || r.display !== undefined, `${where}: a Reference needs reference, identifier or display`);
  };
  if (!obj(bundle)) return ['Bundle: object expected'];
  need(bundle.resourceType === 'Bundle', 'Bundle.resourceType must be Bundle');
  need(['document', 'message', 'transaction', 'transaction-response', 'batch', 'batch-response', 'history', 'searchset', 'collection', 'subscription-notification'].includes(String(bundle.type)), 'Bundle.type: required code');
  if (bundle.timestamp !== undefined) need(typeof bundle.timestamp === 'string' && instant.test(bundle.timestamp), 'Bundle.timestamp: instant expected');
  const entries = bundle.entry;
  need(entries === undefined || Array.isArray(entries), 'Bundle.entry: array expected');
  (Array.isArray(entries) ? entries : []).forEach((en, i) => {
    const w = `Bundle.entry[${i}]`;
    need(obj(en), `${w}: object expected`);
    if (!obj(en)) return;
    need(typeof en.fullUrl === 'string' && uri.test(en.fullUrl), `${w}.fullUrl: uri expected`);
    const r = en.resource;
    if (!obj(r)) return void problems.push(`${w}.resource: object expected`);
    const rw = `${w}.resource`;
    const allowed = ['resourceType', 'id', 'meta', 'text', 'extension', 'category', 'code', 'action', 'severity', 'occurredPeriod', 'occurredDateTime', 'recorded', 'outcome', 'authorization', 'basedOn', 'patient', 'encounter', 'agent', 'source', 'entity'];
    for (const k of Object.keys(r)) need(allowed.includes(k), `${rw}.${k}: not an R5 AuditEvent element`);
    need(r.resourceType === 'AuditEvent', `${rw}.resourceType must be AuditEvent`);
    if (r.id !== undefined) need(typeof r.id === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(r.id), `${rw}.id: id expected`);
    if (r.category !== undefined) (Array.isArray(r.category) ? r.category.forEach((c, j) => concept(c, `${rw}.category[${j}]`)) : problems.push(`${rw}.category: array expected`));
    need(r.code !== undefined, `${rw}.code: required (1..1)`);
    if (r.code !== undefined) concept(r.code, `${rw}.code`);
    if (r.action !== undefined) need(['C', 'R', 'U', 'D', 'E'].includes(String(r.action)), `${rw}.action: required binding C | R | U | D | E`);
    need(typeof r.recorded === 'string' && instant.test(r.recorded), `${rw}.recorded: required instant`);
    if (r.outcome !== undefined) {
      if (!obj(r.outcome)) problems.push(`${rw}.outcome: object expected`);
      else {
        need(r.outcome.code !== undefined, `${rw}.outcome.code: required (1..1)`);
        coding(r.outcome.code, `${rw}.outcome.code`);
      }
    }
    need(Array.isArray(r.agent) && r.agent.length > 0, `${rw}.agent: required (1..*)`);
    (Array.isArray(r.agent) ? r.agent : []).forEach((a, j) => {
      const aw = `${rw}.agent[${j}]`;
      if (!obj(a)) return void problems.push(`${aw}: object expected`);
      for (const k of Object.keys(a)) need(['type', 'role', 'who', 'requestor', 'location', 'policy', 'networkReference', 'networkUri', 'networkString', 'authorization'].includes(k), `${aw}.${k}: not an agent element`);
      if (a.type !== undefined) concept(a.type, `${aw}.type`);
      if (a.role !== undefined) (Array.isArray(a.role) ? a.role.forEach((c, k) => concept(c, `${aw}.role[${k}]`)) : problems.push(`${aw}.role: array expected`));
      need(a.who !== undefined, `${aw}.who: required (1..1)`);
      if (a.who !== undefined) reference(a.who, `${aw}.who`);
      if (a.requestor !== undefined) need(typeof a.requestor === 'boolean', `${aw}.requestor: boolean expected`);
    });
    if (!obj(r.source)) problems.push(`${rw}.source: required (1..1)`);
    else {
      need(r.source.observer !== undefined, `${rw}.source.observer: required (1..1)`);
      if (r.source.observer !== undefined) reference(r.source.observer, `${rw}.source.observer`);
      if (r.source.type !== undefined) (Array.isArray(r.source.type) ? r.source.type.forEach((c, k) => concept(c, `${rw}.source.type[${k}]`)) : problems.push(`${rw}.source.type: array expected`));
    }
    (Array.isArray(r.entity) ? r.entity : r.entity === undefined ? [] : (problems.push(`${rw}.entity: array expected`), [])).forEach((en2: unknown, j: number) => {
      const ew = `${rw}.entity[${j}]`;
      if (!obj(en2)) return void problems.push(`${ew}: object expected`);
      for (const k of Object.keys(en2)) need(['what', 'role', 'securityLabel', 'query', 'detail', 'agent'].includes(k), `${ew}.${k}: not an entity element`);
      if (en2.what !== undefined) reference(en2.what, `${ew}.what`);
      if (en2.detail !== undefined) {
        if (!Array.isArray(en2.detail)) problems.push(`${ew}.detail: array expected`);
        else en2.detail.forEach((d: unknown, k: number) => {
          const dw = `${ew}.detail[${k}]`;
          if (!obj(d)) return void problems.push(`${dw}: object expected`);
          need(d.type !== undefined, `${dw}.type: required (1..1)`);
          if (d.type !== undefined) concept(d.type, `${dw}.type`);
          const values = Object.keys(d).filter((x) => x.startsWith('value'));
          need(values.length === 1, `${dw}.value[x]: required (1..1)`);
          need(values.every((x) => ['valueQuantity', 'valueCodeableConcept', 'valueString', 'valueBoolean', 'valueInteger', 'valueRange', 'valueRatio', 'valueTime', 'valueDateTime', 'valuePeriod', 'valueBase64Binary'].includes(x)), `${dw}: value[x] type not allowed`);
        });
      }
    });
  });
  return problems;
}

// ---------------------------------------------------------------- DICOM PS3.15 ATNA XML

export function xmlEscape(s: string): string {
  // Characters XML 1.0 cannot carry at all are replaced; the rest escaped.
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** XML attribute-safe token: collapses whitespace (the schema types these as xsd:token). */
const token = (s: string): string => xmlEscape(s.replace(/\s+/g, ' ').trim() || '-');
const codeAttrs = (c: { code: string; system: string; meaning: string }): string => `csd-code="${token(c.code)}" codeSystemName="${token(c.system)}" originalText="${token(c.meaning)}"`;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** ParticipantObjectIDTypeCode and type/role per participant type (PS3.15 A.5.3 conventions). */
const PARTICIPANT_CODE: Record<string, { code: string; system: string; meaning: string; type: string; role: string }> = {
  PatientID: { code: '2', system: 'RFC-3881', meaning: 'Patient Number', type: '1', role: '1' },
  StudyInstanceUID: { code: '110180', system: 'DCM', meaning: 'Study Instance UID', type: '2', role: '3' },
  SeriesInstanceUID: { code: '110180', system: 'DCM', meaning: 'Study Instance UID', type: '2', role: '3' },
  SOPInstanceUID: { code: '110180', system: 'DCM', meaning: 'Study Instance UID', type: '2', role: '3' },
  SOPClassUID: { code: '110181', system: 'DCM', meaning: 'SOP Class UID', type: '2', role: '3' },
  User: { code: '11', system: 'RFC-3881', meaning: 'User Identifier', type: '1', role: '11' },
};

/** One PS3.15 A.5 AuditMessage for an event. */
export function atnaMessage(e: AuditEvent, auditSourceId: string): string {
  const lines: string[] = [];
  lines.push('<AuditMessage>');
  lines.push(`  <EventIdentification EventActionCode="${e.action}" EventDateTime="${e.timeUtc}" EventOutcomeIndicator="${OUTCOME_INDICATOR[e.outcome]}">`);
  lines.push(`    <EventID ${codeAttrs(e.eventId)}/>`);
  if (e.eventTypeCode) lines.push(`    <EventTypeCode ${codeAttrs(e.eventTypeCode)}/>`);
  if (e.outcome !== 'success' && typeof e.details.reason === 'string') lines.push(`    <EventOutcomeDescription>${xmlEscape(e.details.reason)}</EventOutcomeDescription>`);
  lines.push('  </EventIdentification>');
  lines.push(`  <ActiveParticipant UserID="${xmlEscape(e.userId)}" UserName="${xmlEscape(e.userId)}" UserIsRequestor="true" NetworkAccessPointID="${token(e.workstation)}" NetworkAccessPointTypeCode="1">`);
  lines.push(`    <RoleIDCode csd-code="${token(e.userRole)}" codeSystemName="99MFP" originalText="${token(e.userRole)}"/>`);
  lines.push('  </ActiveParticipant>');
  lines.push(`  <AuditSourceIdentification AuditSourceID="${token(auditSourceId)}">`);
  lines.push('    <AuditSourceTypeCode csd-code="4"/>');
  lines.push('  </AuditSourceIdentification>');
  for (const p of e.participants) {
    const c = PARTICIPANT_CODE[p.type] ?? { code: p.type, system: '99MFP', meaning: p.type, type: '2', role: '4' };
    lines.push(`  <ParticipantObjectIdentification ParticipantObjectID="${token(p.id)}" ParticipantObjectTypeCode="${c.type}" ParticipantObjectTypeCodeRole="${c.role}">`);
    lines.push(`    <ParticipantObjectIDTypeCode ${codeAttrs(c)}/>`);
    lines.push(`    <ParticipantObjectName>${token(p.type)}</ParticipantObjectName>`);
    lines.push('  </ParticipantObjectIdentification>');
  }
  // The record itself (seq, hashes, details) as a system object, so the export can be checked against the chain.
  lines.push(`  <ParticipantObjectIdentification ParticipantObjectID="mfp-audit-${e.seq}" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="13">`);
  lines.push('    <ParticipantObjectIDTypeCode csd-code="MFP-REC" codeSystemName="99MFP" originalText="MedFedPure audit record"/>');
  lines.push('    <ParticipantObjectName>MedFedPure audit record</ParticipantObjectName>');
  lines.push(`    <ParticipantObjectDetail type="seq" value="${b64(String(e.seq))}"/>`);
  lines.push(`    <ParticipantObjectDetail type="details" value="${b64(JSON.stringify(e.details))}"/>`);
  lines.push(`    <ParticipantObjectDetail type="prevHash" value="${b64(e.prevHash)}"/>`);
  lines.push(`    <ParticipantObjectDetail type="entryHash" value="${b64(e.entryHash)}"/>`);
  lines.push('  </ParticipantObjectIdentification>');
  lines.push('</AuditMessage>');
  return lines.join('\n');
}

export function atnaDocumentStart(): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<AuditMessages>\n';
}
export function atnaDocumentEnd(): string {
  return '</AuditMessages>\n';
}

// ---------------------------------------------------------------- one stream for every format

export const EXPORT_CONTENT_TYPE: Readonly<Record<'csv' | 'fhir' | 'atna', string>> = {
  csv: 'text/csv; charset=utf-8',
  fhir: 'application/fhir+json; fhirVersion=5.0',
  atna: 'application/xml; charset=utf-8',
};
export const EXPORT_EXTENSION: Readonly<Record<'csv' | 'fhir' | 'atna', string>> = { csv: 'csv', fhir: 'fhir.json', atna: 'atna.xml' };

/**
 * The export of `events` in `format` as a sequence of text chunks, so a caller can write any number of rows without
 * holding them (the CLI) or join them (the UI, bounded). The FHIR bundle is written entry by entry.
 */
export function* exportChunks(events: Iterable<AuditEvent>, format: 'csv' | 'fhir' | 'atna', opts: { generatedUtc: string; auditSourceId: string }): Generator<string> {
  if (format === 'csv') {
    yield csvHeader();
    for (const e of events) yield csvRow(e);
  } else if (format === 'atna') {
    yield atnaDocumentStart();
    for (const e of events) yield `${atnaMessage(e, opts.auditSourceId)}\n`;
    yield atnaDocumentEnd();
  } else {
    yield `{"resourceType":"Bundle","type":"collection","timestamp":${JSON.stringify(opts.generatedUtc)},"entry":[`;
    let first = true;
    for (const e of events) {
      yield `${first ? '' : ','}\n${JSON.stringify(fhirEntry(e))}`;
      first = false;
    }
    yield '\n]}\n';
  }
}
