/**
 * The site's rules for federated learning, set by the site (not by the federation), checked before every connection
 * and every message. Anything outside them is refused, and the refusal is audited.
 *
 *   allowedSuperlinks  exact host:port of SuperLinks this workstation may join (empty: none — fail closed)
 *   allowedRunIds      Flower run ids the site agreed to take part in (null: any run on an allowed SuperLink)
 *   schedule           local-time windows in which rounds may run, e.g. nights and weekends (empty: any time)
 *   maxThreads         onnxruntime threads local training may use
 *   maxRoundSeconds    wall-clock budget of local training per round
 *   maxPayloadBytes    largest message (all its objects together) accepted from the SuperLink
 *   paused             keep the connection, take no rounds
 *   optedOut           leave: deactivate and do not connect
 *   privacy            local noise multiplier (0 = none), a clipping norm to use when the server sends none,
 *                      δ for the (ε, δ) report, and an ε budget after which training rounds are refused
 */
export interface SchedulePeriod {
  /** Days of the week, 0 = Sunday … 6 = Saturday (all days when absent). */
  days?: number[];
  /** "HH:MM" local time; a window with end ≤ start runs over midnight. */
  start: string;
  end: string;
}

export interface PrivacySettings {
  noiseMultiplier: number;
  /** Clipping norm used when the server does not send `clipping_norm` (needed for local noise). */
  defaultClippingNorm: number | null;
  delta: number;
  /** Refuse training rounds once ε would exceed this (null: no cap). */
  maxEpsilon: number | null;
}

export interface SitePolicy {
  allowedSuperlinks: string[];
  allowedRunIds: string[] | null;
  schedule: SchedulePeriod[];
  maxThreads: number;
  maxRoundSeconds: number;
  maxPayloadBytes: number;
  paused: boolean;
  optedOut: boolean;
  privacy: PrivacySettings;
}

export const DEFAULT_POLICY: SitePolicy = {
  allowedSuperlinks: [],
  allowedRunIds: null,
  schedule: [],
  maxThreads: 2,
  maxRoundSeconds: 600,
  maxPayloadBytes: 64 * 1024 * 1024,
  paused: false,
  optedOut: false,
  privacy: { noiseMultiplier: 0, defaultClippingNorm: null, delta: 1e-5, maxEpsilon: null },
};

export type PolicyDecision = { ok: true } | { ok: false; rule: 'superlink' | 'run' | 'schedule' | 'paused' | 'opted-out' | 'privacy-budget'; reason: string };

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutes(s: string): number {
  const m = HHMM.exec(s);
  if (!m) throw new RangeError(`schedule time "${s}" is not HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Validate a policy (throws RangeError naming the field). */
export function checkPolicy(p: SitePolicy): SitePolicy {
  if (!Array.isArray(p.allowedSuperlinks) || !p.allowedSuperlinks.every((a) => typeof a === 'string' && /^[^\s]+:\d{1,5}$/.test(a))) throw new RangeError('allowedSuperlinks must be host:port strings');
  if (p.allowedRunIds !== null && !(Array.isArray(p.allowedRunIds) && p.allowedRunIds.every((r) => /^\d{1,20}$/.test(r)))) throw new RangeError('allowedRunIds must be decimal run ids or null');
  for (const s of p.schedule) {
    minutes(s.start);
    minutes(s.end);
    if (s.days && !s.days.every((d) => Number.isInteger(d) && d >= 0 && d <= 6)) throw new RangeError('schedule days are 0–6');
  }
  if (!(Number.isInteger(p.maxThreads) && p.maxThreads >= 1 && p.maxThreads <= 256)) throw new RangeError('maxThreads must be 1–256');
  if (!(p.maxRoundSeconds > 0)) throw new RangeError('maxRoundSeconds must be > 0');
  if (!(p.maxPayloadBytes >= 1024)) throw new RangeError('maxPayloadBytes must be ≥ 1024');
  const q = p.privacy;
  if (!(q.noiseMultiplier >= 0 && Number.isFinite(q.noiseMultiplier))) throw new RangeError('privacy.noiseMultiplier must be ≥ 0');
  if (q.defaultClippingNorm !== null && !(q.defaultClippingNorm > 0)) throw new RangeError('privacy.defaultClippingNorm must be > 0 or null');
  if (!(q.delta > 0 && q.delta < 1)) throw new RangeError('privacy.delta must be in (0, 1)');
  if (q.maxEpsilon !== null && !(q.maxEpsilon > 0)) throw new RangeError('privacy.maxEpsilon must be > 0 or null');
  return p;
}

export function inSchedule(schedule: readonly SchedulePeriod[], now: Date): boolean {
  if (schedule.length === 0) return true;
  const t = now.getHours() * 60 + now.getMinutes();
  const day = now.getDay();
  return schedule.some((s) => {
    const a = minutes(s.start), b = minutes(s.end);
    if (a < b) return (!s.days || s.days.includes(day)) && t >= a && t < b;
    // over midnight: the part after start belongs to `day`, the part before end to the previous day
    const prev = (day + 6) % 7;
    return (t >= a && (!s.days || s.days.includes(day))) || (t < b && (!s.days || s.days.includes(prev)));
  });
}

export function mayConnect(p: SitePolicy, address: string): PolicyDecision {
  if (p.optedOut) return { ok: false, rule: 'opted-out', reason: 'the site has opted out of federated learning' };
  if (!p.allowedSuperlinks.includes(address)) return { ok: false, rule: 'superlink', reason: `SuperLink ${address} is not in the site's allowed list` };
  return { ok: true };
}

export function mayTakeMessage(p: SitePolicy, runId: bigint, now: Date): PolicyDecision {
  if (p.optedOut) return { ok: false, rule: 'opted-out', reason: 'the site has opted out of federated learning' };
  if (p.paused) return { ok: false, rule: 'paused', reason: 'federated learning is paused at this site' };
  if (p.allowedRunIds !== null && !p.allowedRunIds.includes(runId.toString())) return { ok: false, rule: 'run', reason: `run ${runId} is not one the site agreed to` };
  if (!inSchedule(p.schedule, now)) return { ok: false, rule: 'schedule', reason: 'outside the site\'s schedule windows' };
  return { ok: true };
}
