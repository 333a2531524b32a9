/**
 * The federated-learning feature's part of the contract: the FL agent (fl-agent/, a Flower Fleet API client) as a
 * background process of the app. Status (connection state, node, current run and round, privacy spent), the round
 * history for the plot, the site's settings (SuperLink, TLS, data source, site policy incl. privacy), and the site's
 * controls: pause, resume, opt out. Runs anywhere; imports only electron/common.
 *
 * The types mirror fl-agent's AgentStatus / RoundEntry / SitePolicy (kept structurally equal; the service checks it
 * at compile time) because a feature's api.ts may import nothing outside electron/common.
 */
import { ApiError } from '../../common/api-error.js';
import { defineFeatureApi, event, method, returns } from '../../common/feature-api.js';
import { arrayOf, integer, object, optional, string, type Check } from '../../common/validate.js';

export type FlConnectionState = 'idle' | 'connecting' | 'connected' | 'training' | 'evaluating' | 'paused' | 'reconnecting' | 'refused' | 'stopped';

export interface FlSchedulePeriod {
  /** 0 = Sunday … 6 = Saturday (all days when absent). */
  days?: number[];
  /** "HH:MM" local time; end ≤ start runs over midnight. */
  start: string;
  end: string;
}

export interface FlPrivacySettings {
  /** Local Gaussian noise multiplier (0 = none). */
  noiseMultiplier: number;
  /** Clipping norm used when the server sends none (needed for local noise). */
  defaultClippingNorm: number | null;
  delta: number;
  /** Refuse training once ε would exceed this (null: no cap). */
  maxEpsilon: number | null;
}

/** The site policy (fl-agent/site/policy.ts SitePolicy). */
export interface FlSitePolicy {
  allowedSuperlinks: string[];
  allowedRunIds: string[] | null;
  schedule: FlSchedulePeriod[];
  maxThreads: number;
  maxRoundSeconds: number;
  maxPayloadBytes: number;
  paused: boolean;
  optedOut: boolean;
  privacy: FlPrivacySettings;
}

/** What the site configured: where the federation is, how to trust it, what to train on, and the policy. */
export interface FlSettings {
  /** host:port of the SuperLink's Fleet API; '' = not configured (the agent does not run). */
  superlink: string;
  /** PEM file of the federation's root CA; absent: system roots (unless insecure). */
  rootCaPath?: string;
  /** Plain-text gRPC, for local trials only. */
  insecure: boolean;
  /** A folder in the yes/ no/ layout; absent: the radiologists' confirmed cases of the study store. */
  dataFolder?: string;
  policy: FlSitePolicy;
}

export interface FlRound {
  at: string;
  messageId: string;
  runId: string;
  round: string;
  /** 'train' | 'evaluate' | … (the Flower message type). */
  kind: string;
  outcome: 'ok' | 'refused' | 'failed';
  loss: number | null;
  accuracy: number | null;
  examples: number;
  durationS: number;
  /** From the round's audit record: the clipping norm applied, the update's norm before clipping, local noise. */
  clippingNorm: number | null;
  updateNorm: number | null;
  noiseMultiplier: number | null;
  epsilon: number | null;
  error: string | null;
}

export interface FlStatus {
  /** Whether the agent process is running (it runs while a SuperLink is configured and the site has not opted out). */
  running: boolean;
  state: FlConnectionState;
  superlink: string;
  nodeId: string | null;
  runId: string | null;
  round: string | null;
  roundsDone: number;
  lastError: { code: string; message: string } | null;
  paused: boolean;
  optedOut: boolean;
  privacy: { epsilon: number | null; delta: number | null; noiseMultiplier: number; defaultClippingNorm: number | null; maxEpsilon: number | null; releases: number };
}

function fail(path: string, expected: string): never {
  throw new ApiError('BAD_REQUEST', `${path || 'request'}: expected ${expected}`);
}

const num = (opts: { min?: number; max?: number; gt?: number } = {}): Check<number> => (v, path) =>
  typeof v === 'number' && Number.isFinite(v) && v >= (opts.min ?? -Infinity) && v <= (opts.max ?? Infinity) && (opts.gt === undefined || v > opts.gt)
    ? v
    : fail(path, `a number${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.gt !== undefined ? ` > ${opts.gt}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}`);

const nullable = <T>(c: Check<T>): Check<T | null> => (v, path) => (v === null ? null : c(v, path));

const bool: Check<boolean> = (v, path) => (typeof v === 'boolean' ? v : fail(path, 'true or false'));

const HOST_PORT: Check<string> = (v, path) => (typeof v === 'string' && v.length <= 260 && /^[^\s/]+:\d{1,5}$/.test(v) ? v : fail(path, 'HOST:PORT'));
const SUPERLINK: Check<string> = (v, path) => (v === '' ? '' : HOST_PORT(v, path));
const RUN_ID: Check<string> = (v, path) => (typeof v === 'string' && /^\d{1,20}$/.test(v) ? v : fail(path, 'a decimal Flower run id'));
const HHMM: Check<string> = (v, path) => (typeof v === 'string' && /^([01]\d|2[0-3]):[0-5]\d$/.test(v) ? v : fail(path, 'HH:MM'));

export const FL_POLICY: Check<FlSitePolicy> = object({
  allowedSuperlinks: arrayOf(HOST_PORT, { max: 20 }),
  allowedRunIds: nullable(arrayOf(RUN_ID, { max: 1000 })),
  schedule: arrayOf(object({ days: optional(arrayOf(integer({ min: 0, max: 6 }), { max: 7 })), start: HHMM, end: HHMM }), { max: 50 }),
  maxThreads: integer({ min: 1, max: 256 }),
  maxRoundSeconds: num({ gt: 0, max: 86_400 }),
  maxPayloadBytes: integer({ min: 1024, max: 4 * 1024 ** 3 }),
  paused: bool,
  optedOut: bool,
  privacy: object({
    noiseMultiplier: num({ min: 0, max: 1000 }),
    defaultClippingNorm: nullable(num({ gt: 0, max: 1e9 })),
    delta: num({ gt: 0, max: 0.5 }),
    maxEpsilon: nullable(num({ gt: 0, max: 1e6 })),
  }),
}) as Check<FlSitePolicy>;

export const FL_SETTINGS: Check<FlSettings> = object({
  superlink: SUPERLINK,
  rootCaPath: optional(string({ min: 1, max: 4096 })),
  insecure: bool,
  dataFolder: optional(string({ min: 1, max: 4096 })),
  policy: FL_POLICY,
});

export const flApi = defineFeatureApi({
  methods: {
    'fl.status': method(object({}), returns<FlStatus>()),
    /** Rounds handled by this workstation (oldest first; at most `limit`, the latest ones). */
    'fl.history': method(object({ limit: optional(integer({ min: 1, max: 10_000 })) }), returns<FlRound[]>()),
    'fl.settings': method(object({}), returns<FlSettings>()),
    /** Stores the site's settings (audited as a configuration change) and applies them: starts, restarts or re-polices the agent. */
    'fl.saveSettings': method(FL_SETTINGS, returns<FlSettings>()),
    /** Keep the connection, take no rounds (audited). */
    'fl.pause': method(object({}), returns<FlStatus>()),
    'fl.resume': method(object({}), returns<FlStatus>()),
    /** Leave the federation: the agent deactivates and stops; saving settings with optedOut = false rejoins (audited). */
    'fl.optOut': method(object({}), returns<FlStatus>()),
  },
  events: {
    'fl.status': event<FlStatus>(),
    'fl.round': event<FlRound>(),
  },
});
