/**
 * The decisions feature's service: records a radiologist's accept / override / dismiss on the latest AI result of a
 * slice (decision-store.ts), audits it, and announces it.
 *
 * Rules, checked before anything is written:
 *   - a decision refers to the result the radiologist saw (its createdUtc): CONFLICT when a newer scan replaced it,
 *     NOT_FOUND when the slice was never scanned;
 *   - override needs a corrected label different from the AI's and a reason; dismiss needs a reason.
 * Audited as DCM 110100 Application Activity / MFP-DEC "AI Result Decision" (action C), naming the radiologist, the
 * study, the slice and the patient, with the AI label, the final label and the reason.
 */
import { ApiError } from '../../common/api-error.js';
import type { FeatureHandlers } from '../../node/router/router.js';
import type { EventSink } from '../../node/services/event-bus.js';
import type { AuditStore } from '../audit/audit-store.js';
import { EVENT_ID, MFP_EVENT_TYPE, PARTICIPANT } from '../audit/codes.js';
import type { AuditActor } from '../audit/events.js';
import type { ScanResultHead } from '../scan/results-store.js';
import type { DecisionAction, decisionsApi } from './api.js';
import { DecisionStore } from './decision-store.js';
import type { ConfirmedCase } from '../../../fl-agent/site/data.js';

/**
 * A confirmed case exactly as the FL agent's site data takes it (fl-agent/site/data.ts ConfirmedCase): the label as
 * 0/1, who confirmed it and when, the patient as the group key, and the preprocessed model input the AI result was
 * computed on (size × size, [0, 1]). One type, so the table and the agent cannot drift apart.
 */
export type TrainingCase = ConfirmedCase;

export interface DecisionsService {
  readonly store: DecisionStore;
  readonly handlers: FeatureHandlers<typeof decisionsApi>;
  /** Every confirmed case with its pixels, for the FL agent (fl-agent's ConfirmedCases.list). */
  trainingCases(): Promise<TrainingCase[]>;
  close(): void;
}

const MIN_REASON = 3;

export function createDecisionsService(deps: {
  dataDir: string;
  audit: AuditStore;
  actor: AuditActor;
  latestResult: (sopInstanceUid: string) => ScanResultHead | undefined;
  /** The preprocessed model input of a slice's latest result. */
  resultInput: (sopInstanceUid: string) => { pixels: Float32Array; size: number } | undefined;
  patientOfStudy: (studyInstanceUid: string) => string | undefined;
  events: EventSink<{ 'decisions.changed': { sopInstanceUid: string; seriesInstanceUid: string; action: DecisionAction } }>;
  now?: () => Date;
}): DecisionsService {
  const store = DecisionStore.open(deps.dataDir);
  const now = deps.now ?? (() => new Date());

  const handlers: FeatureHandlers<typeof decisionsApi> = {
    'decisions.record': (req, ctx) => {
      const result = deps.latestResult(req.sopInstanceUid);
      if (!result) throw new ApiError('NOT_FOUND', `Slice ${req.sopInstanceUid} has no AI result to decide on`);
      if (result.createdUtc !== req.scanCreatedUtc) {
        throw new ApiError('CONFLICT', 'A newer AI result replaced the one shown: review it and decide again', { code: 'E_STALE_RESULT', latestCreatedUtc: result.createdUtc });
      }
      const aiLabel = result.label;
      if (aiLabel === null) {
        throw new ApiError('BAD_REQUEST', 'The AI gave no label for this slice (outside intended use): there is nothing to decide on', { code: 'E_NO_AI_LABEL' });
      }
      const reason = req.reason?.trim() || null;
      let finalLabel: 'no-tumour' | 'tumour' | null;
      switch (req.action) {
        case 'accept':
          if (req.label !== undefined && req.label !== result.label) throw new ApiError('BAD_REQUEST', 'label: accepting keeps the AI label; use override to correct it');
          finalLabel = aiLabel;
          break;
        case 'override':
          if (req.label === undefined) throw new ApiError('BAD_REQUEST', 'label: an override needs the corrected label');
          if (req.label === result.label) throw new ApiError('BAD_REQUEST', 'label: the corrected label is the AI label; use accept');
          if (!reason || reason.length < MIN_REASON) throw new ApiError('BAD_REQUEST', 'reason: an override needs a reason');
          finalLabel = req.label;
          break;
        case 'dismiss':
          if (req.label !== undefined) throw new ApiError('BAD_REQUEST', 'label: a dismissed result has no label');
          if (!reason || reason.length < MIN_REASON) throw new ApiError('BAD_REQUEST', 'reason: dismissing needs a reason');
          finalLabel = null;
          break;
      }
      const p = ctx.principal!;
      const decision = store.record({
        sopInstanceUid: result.sopInstanceUid, seriesInstanceUid: result.seriesInstanceUid, studyInstanceUid: result.studyInstanceUid,
        scanCreatedUtc: result.createdUtc, aiLabel, aiFlagged: result.flagged, action: req.action, finalLabel, reason,
        decidedBy: p.userId, decidedByName: p.displayName, decidedRole: p.role, decidedUtc: now().toISOString(),
      });
      const patient = deps.patientOfStudy(result.studyInstanceUid);
      deps.audit.append({
        ...deps.actor,
        eventId: EVENT_ID.applicationActivity,
        eventTypeCode: MFP_EVENT_TYPE.aiResultDecision,
        action: 'C',
        outcome: 'success',
        participants: [
          { type: PARTICIPANT.studyInstanceUid, id: result.studyInstanceUid },
          { type: PARTICIPANT.sopInstanceUid, id: result.sopInstanceUid },
          ...(patient ? [{ type: PARTICIPANT.patientId, id: patient }] : []),
        ],
        details: {
          decision: req.action, decisionId: decision.id, aiLabel: result.label, aiFlagged: result.flagged, finalLabel, reason,
          scanCreatedUtc: result.createdUtc, confirmedCase: finalLabel !== null,
        },
      });
      deps.events.emit('decisions.changed', { sopInstanceUid: decision.sopInstanceUid, seriesInstanceUid: decision.seriesInstanceUid, action: decision.action });
      return decision;
    },
    'decisions.forSeries': (req) => store.forSeries(req.seriesInstanceUid),
  };

  async function trainingCases(): Promise<TrainingCase[]> {
    const out: TrainingCase[] = [];
    for (let afterId = 0; ; ) {
      const page = store.listConfirmedCases({ afterId, limit: 1000 });
      for (const c of page) {
        const input = deps.resultInput(c.sopInstanceUid);
        if (!input) continue; // no stored result to take the pixels from: nothing to train on
        out.push({
          caseId: c.sopInstanceUid, label: c.label === 'tumour' ? 1 : 0, confirmation: c.source, confirmedBy: c.decidedBy, confirmedAt: c.decidedUtc,
          groupKey: deps.patientOfStudy(c.studyInstanceUid) ?? c.studyInstanceUid, pixels: input.pixels, side: input.size,
        });
      }
      if (page.length < 1000) return out;
      afterId = page[page.length - 1]!.id;
    }
  }

  return { store, handlers, trainingCases, close: () => store.close() };
}
