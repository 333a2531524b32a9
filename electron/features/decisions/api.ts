/**
 * The decisions feature's part of the contract: what the radiologist makes of each AI result. Runs anywhere.
 *
 * For each scanned slice the radiologist accepts the AI label, overrides it with the corrected label (and a reason),
 * or dismisses the result (with a reason). Nothing is ever accepted automatically. An accepted or corrected label
 * becomes a confirmed case: the only labels the FL agent may train on (`ConfirmedCasesReader`, served to the agent by
 * the main process; the agent imports only this file's types).
 */
import { defineFeatureApi, event, method, returns } from '../../common/feature-api.js';
import { object, oneOf, optional, string, UID } from '../../common/validate.js';

export type DecisionAction = 'accept' | 'override' | 'dismiss';
export type CaseLabel = 'no-tumour' | 'tumour';

export interface Decision {
  id: number;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  /** The AI result decided on (its createdUtc identifies it), and what it said. */
  scanCreatedUtc: string;
  aiLabel: CaseLabel;
  aiFlagged: boolean;
  action: DecisionAction;
  /** accept: the AI label; override: the corrected label; dismiss: null. */
  finalLabel: CaseLabel | null;
  reason: string | null;
  decidedBy: string;
  decidedByName: string;
  decidedRole: string;
  decidedUtc: string;
}

/** A label a radiologist confirmed: what the FL agent may train on. */
export interface ConfirmedCase {
  /** Increases with every change; read onwards from the last id seen. */
  id: number;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  label: CaseLabel;
  /** 'accepted': the AI label confirmed; 'corrected': the radiologist's label replaced the AI's. */
  source: 'accepted' | 'corrected';
  decisionId: number;
  decidedBy: string;
  decidedUtc: string;
  /** Where the pixels are: the study store's decoded frame of this instance (studies `instances.frame`). */
  pixels: { kind: 'study-store-instance'; sopInstanceUid: string };
}

/** The read interface the FL agent gets (through the main process). */
export interface ConfirmedCasesReader {
  /** Confirmed cases in id order, after `afterId` (default: from the start), at most `limit` (default 1000). */
  listConfirmedCases(query?: { afterId?: number; limit?: number }): ConfirmedCase[];
}

const RADIOLOGIST = { roles: ['radiologist'] } as const;

export const decisionsApi = defineFeatureApi({
  methods: {
    /**
     * Records a decision on the latest AI result of a slice. `scanCreatedUtc` names the result the radiologist saw:
     * CONFLICT when a newer scan replaced it. override needs `label` (different from the AI's) and `reason`;
     * dismiss needs `reason`. Audited.
     */
    'decisions.record': method(
      object({
        sopInstanceUid: UID,
        scanCreatedUtc: string({ min: 1, max: 40 }),
        action: oneOf(['accept', 'override', 'dismiss'] as const),
        label: optional(oneOf(['no-tumour', 'tumour'] as const)),
        reason: optional(string({ max: 500 })),
      }),
      returns<Decision>(),
      RADIOLOGIST,
    ),
    /** The latest decision per slice of a series. */
    'decisions.forSeries': method(object({ seriesInstanceUid: UID }), returns<Decision[]>(), RADIOLOGIST),
  },
  events: {
    'decisions.changed': event<{ sopInstanceUid: string; seriesInstanceUid: string; action: DecisionAction }>(),
  },
});
