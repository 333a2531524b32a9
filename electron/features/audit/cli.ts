/**
 * `medfedpure audit verify|list|export`: inspects the audit log (dataDir/audit.sqlite).
 *   verify  walks the hash chain; exit 0 only when it is intact, 1 naming the first broken row, 2 when there is
 *           no audit log or on usage errors. Missing append-only triggers are reported as a warning.
 *   list    prints recent events (newest first).
 *   export  writes the filtered range as DICOM PS3.15 ATNA XML, a FHIR R5 AuditEvent Bundle or CSV, streamed (any
 *           size), to stdout or --out FILE; the export itself is audited (DCM 110106, the OS account, via 'cli').
 * verify and list only read; export appends its own audit row.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiError } from '../../common/api-error.js';
import { auditFilter, type ExportFormat } from './api.js';
import { EVENT_ID } from './codes.js';
import { exportChunks } from './exporters.js';
import { filterOf } from './service.js';
import { AuditStore } from './audit-store.js';
import { defaultDataDir } from '../../node/services/paths.js';
import { intFlag, parseArgs, UsageError, type FlagSpec, type Parsed } from '../../node/cli/args.js';
import { makeOut, type Out } from '../../node/cli/output.js';
import type { CliCommand } from '../../node/cli/commands.js';

export const AUDIT_HELP = `Usage: medfedpure audit verify [--data-dir D] [--json]
       medfedpure audit list [--limit N] [--before SEQ] [--event CODE] [--participant ID] [--data-dir D] [--json]
       medfedpure audit export --format atna|fhir|csv [--from T] [--to T] [--user U] [--participant PREFIX]
                               [--event CODE] [--outcome O] [--out FILE] [--data-dir D]

verify  checks the audit log's SHA-256 hash chain; exit 0 only when it is intact, otherwise 1 and the first
        broken row's seq (2: no audit log, or usage error).
list    shows the newest events (default 50).
export  writes the events with from <= time < to (ISO 8601, e.g. 2026-01-05 or 2026-01-05T08:00:00Z) matching the
        other filters, oldest first, to stdout or FILE; audited as DCM 110106 Export.`;

function openExisting(dataDirFlag: Parsed['flags'][string]): AuditStore | null {
  const file = join(resolve((dataDirFlag as string | undefined) ?? defaultDataDir()), 'audit.sqlite');
  if (!existsSync(file)) return null;
  return AuditStore.open(file, { repairTriggers: false });
}

export async function auditCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === 'help') {
    process.stdout.write(`${AUDIT_HELP}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'verify') return verify(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'export') return exportCommand(rest);
  throw new UsageError(`unknown audit subcommand "${sub}" (verify, list, export)`);
}

/**
 * What every audit subcommand does around its own work: parse its flags (plus --data-dir, --json, --help), refuse
 * positional arguments, open the existing log read-only (exit 2 when there is none) and close it afterwards.
 */
function onAuditLog(argv: readonly string[], extra: FlagSpec, body: (store: AuditStore, flags: Parsed['flags'], out: Out) => number): number {
  const { flags, positional } = parseArgs(argv, { 'data-dir': 'string', json: 'boolean', help: 'boolean', ...extra });
  if (flags.help) {
    process.stdout.write(`${AUDIT_HELP}\n`);
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
  const out = makeOut(flags.json === true);
  const store = openExisting(flags['data-dir']);
  if (!store) {
    out.error('no audit log in this data directory (nothing has run here yet)');
    return 2;
  }
  try {
    return body(store, flags, out);
  } finally {
    store.close();
  }
}

function verify(argv: readonly string[]): number {
  return onAuditLog(argv, {}, (store, _flags, out) => {
    const result = store.verify();
    const missingTriggers = store.missingTriggers();
    const warnings = missingTriggers.length ? [`append-only triggers missing: ${missingTriggers.join(', ')}`] : [];
    out.result({ ...result, warnings }, () => {
      const head = result.ok
        ? `Audit chain intact: ${result.rows} row(s).`
        : `Audit chain BROKEN at seq ${result.firstBroken!.seq}: ${result.firstBroken!.reason} (${result.rows} row(s) checked).`;
      return [head, ...warnings.map((w) => `Warning: ${w}`)].join('\n');
    });
    return result.ok ? 0 : 1;
  });
}

function list(argv: readonly string[]): number {
  return onAuditLog(argv, { limit: 'string', before: 'string', event: 'string', participant: 'string' }, (store, flags, out) => {
    const page = store.list({
      limit: intFlag(flags.limit, 'limit', 1, 1000) ?? 50,
      beforeSeq: intFlag(flags.before, 'before', 1, Number.MAX_SAFE_INTEGER),
      eventCode: flags.event as string | undefined,
      participantId: flags.participant as string | undefined,
    });
    out.result(page, () =>
      [
        `${page.events.length} of ${page.total} event(s), newest first:`,
        ...page.events.map((e) => {
          const type = e.eventTypeCode ? ` / ${e.eventTypeCode.meaning}` : '';
          const who = `${e.userId} (${e.userRole})@${e.workstation}`;
          const objs = e.participants.map((p) => `${p.type}=${p.id}`).join(' ');
          return `  #${e.seq} ${e.timeUtc} ${e.eventId.meaning}${type} [${e.action}, ${e.outcome}] ${who}${objs ? ` ${objs}` : ''}`;
        }),
      ].join('\n'),
    );
    return 0;
  });
}

function exportCommand(argv: readonly string[]): number {
  return onAuditLog(argv, { format: 'string', from: 'string', to: 'string', user: 'string', participant: 'string', event: 'string', outcome: 'string', out: 'string' }, (store, flags, out) => {
    const format = flags.format as string | undefined;
    if (format !== 'atna' && format !== 'fhir' && format !== 'csv') throw new UsageError('--format must be atna, fhir or csv');
    let filter;
    try {
      filter = filterOf(auditFilter({ fromUtc: flags.from, toUtc: flags.to, userId: flags.user, participant: flags.participant, eventCode: flags.event, outcome: flags.outcome }, ''));
    } catch (err) {
      if (err instanceof ApiError) throw new UsageError(err.message.replace(/^fromUtc/, '--from').replace(/^toUtc/, '--to').replace(/^userId/, '--user').replace(/^eventCode/, '--event'));
      throw err;
    }
    const target = flags.out as string | undefined;
    const tmp = target ? `${resolve(target)}.${process.pid}.part` : undefined;
    const fd = tmp ? openSync(tmp, 'wx', 0o600) : 1;
    const hash = createHash('sha256');
    let count = 0;
    const counted = (function* () {
      for (const e of store.iterate(filter)) {
        count++;
        yield e;
      }
    })();
    try {
      for (const chunk of exportChunks(counted, format as ExportFormat, { generatedUtc: new Date().toISOString(), auditSourceId: hostname() })) {
        hash.update(chunk);
        writeSync(fd, chunk);
      }
    } finally {
      if (tmp) closeSync(fd);
    }
    if (tmp && target) renameSync(tmp, resolve(target));
    const sha256 = hash.digest('hex');
    let osUser = 'unknown';
    try {
      osUser = userInfo().username || osUser;
    } catch {
      /* keep 'unknown' */
    }
    store.append({
      userId: osUser, userRole: 'os-account', workstation: hostname(), eventId: EVENT_ID.export, action: 'R', outcome: 'success',
      details: { format, filter, count, sha256, file: target ? resolve(target) : 'stdout', via: 'cli' },
    });
    if (target) out.result({ file: resolve(target), format, count, sha256 }, () => `Exported ${count} event(s) as ${format} to ${resolve(target)} (sha256 ${sha256})`);
    else process.stderr.write(`medfedpure: exported ${count} event(s) as ${format} (sha256 ${sha256})\n`);
    return 0;
  });
}

export const auditCommands: CliCommand[] = [
  {
    name: 'audit',
    usage: [
      'audit verify [--data-dir D]            check the audit log\'s hash chain (exit 0 only when intact)',
    'audit list [--limit N] [--data-dir D]  show recent audit events',
      'audit export --format atna|fhir|csv [--from T] [--to T] [--out FILE]  export (audited)',
    ],
    run: (argv) => auditCommand(argv),
  },
];
