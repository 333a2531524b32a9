/**
 * The audit feature's handlers: the raw log (list, verify) and its review by compliance officers and admins.
 *
 *   audit.search     filtered, keyset-paged search; audited as DCM 110101 Audit Log Used (action R) the first time a
 *                    session runs a filter (turning pages and live refreshes of the same filter are not re-audited,
 *                    or reviewing the log would flood it)
 *   audit.export     CSV / FHIR R5 / ATNA of the filtered range, at most MAX_UI_EXPORT_ROWS rows (the CLI streams
 *                    any number); audited as DCM 110106 Export with the filter, row count and the output's sha256
 *   audit.chainStatus / verifyNow / acknowledgeBreak   the live chain status (chain-monitor.ts)
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../../common/api-error.js';
import type { CallContext, FeatureHandlers } from '../../node/router/router.js';
import { MAX_UI_EXPORT_ROWS, type auditApi, type ExportFormat, type ExportResult } from './api.js';
import type { AuditFilter, AuditStore } from './audit-store.js';
import type { ChainMonitor } from './chain-monitor.js';
import { EVENT_ID } from './codes.js';
import type { AuditActor } from './events.js';
import { EXPORT_CONTENT_TYPE, EXPORT_EXTENSION, exportChunks } from './exporters.js';

const FILTER_KEYS = ['fromUtc', 'toUtc', 'userId', 'participant', 'eventCode', 'eventTypeCode', 'outcome'] as const;

export function filterOf(req: Partial<Record<(typeof FILTER_KEYS)[number], unknown>>): AuditFilter {
  const f: Record<string, unknown> = {};
  for (const k of FILTER_KEYS) if (req[k] !== undefined) f[k] = req[k];
  return f as AuditFilter;
}

/** The export of a filtered range as one text (bounded), with what the audit row records about it. */
export function renderExport(audit: AuditStore, filter: AuditFilter, format: ExportFormat, opts: { now: Date; auditSourceId: string; maxRows?: number }): ExportResult {
  const max = opts.maxRows ?? MAX_UI_EXPORT_ROWS;
  const total = audit.search(filter, { limit: 1 }).total;
  if (total > max) throw new ApiError('CONFLICT', `${total} events match: narrow the filter to at most ${max}, or use \`medfedpure audit export\``, { code: 'E_EXPORT_TOO_LARGE', total });
  const chunks: string[] = [];
  for (const c of exportChunks(audit.iterate(filter), format, { generatedUtc: opts.now.toISOString(), auditSourceId: opts.auditSourceId })) chunks.push(c);
  const text = chunks.join('');
  const stamp = opts.now.toISOString().replace(/[:.]/g, '-');
  return {
    format, text, count: total, contentType: EXPORT_CONTENT_TYPE[format], filename: `medfedpure-audit-${stamp}.${EXPORT_EXTENSION[format]}`,
    sha256: createHash('sha256').update(text).digest('hex'),
  };
}

export function auditHandlers(deps: { audit: AuditStore; monitor: ChainMonitor; actor: AuditActor; workstation: string; now?: () => Date }): FeatureHandlers<typeof auditApi> {
  const { audit, monitor, actor } = deps;
  const now = deps.now ?? (() => new Date());
  /** Filters each session has already been audited for (bounded per session). */
  const seen = new Map<string, Set<string>>();

  function auditViewing(ctx: CallContext, filter: AuditFilter, total: number): void {
    const session = ctx.principal?.sessionId ?? ctx.client;
    const key = JSON.stringify(filter);
    let set = seen.get(session);
    if (!set) {
      if (seen.size > 1000) seen.clear();
      seen.set(session, (set = new Set()));
    }
    if (set.has(key)) return;
    if (set.size > 200) set.clear();
    set.add(key);
    audit.append({ ...actor, eventId: EVENT_ID.auditLogUsed, action: 'R', outcome: 'success', details: { filter, matched: total } });
  }

  return {
    'audit.list': (query) => audit.list(query),
    'audit.verify': () => audit.verify(),
    'audit.search': (req, ctx) => {
      const filter = filterOf(req);
      const page = audit.search(filter, { beforeSeq: req.beforeSeq, limit: req.limit ?? 100 });
      auditViewing(ctx, filter, page.total);
      return page;
    },
    'audit.facets': () => audit.facets(),
    'audit.perDay': (req) => audit.perDay(filterOf(req)),
    'audit.export': (req) => {
      const filter = filterOf(req);
      const result = renderExport(audit, filter, req.format, { now: now(), auditSourceId: deps.workstation });
      audit.append({
        ...actor, eventId: EVENT_ID.export, action: 'R', outcome: 'success',
        details: { format: req.format, filter, count: result.count, sha256: result.sha256, filename: result.filename, via: 'ui' },
      });
      return result;
    },
    'audit.chainStatus': () => monitor.status(),
    'audit.verifyNow': () => monitor.verifyNow(),
    'audit.acknowledgeBreak': (req) => {
      if (!monitor.acknowledge(req.id, { ...actor }, req.note)) throw new ApiError('NOT_FOUND', `No unacknowledged chain break ${req.id}`);
      return monitor.status();
    },
  };
}
