/**
 * `medfedpure audit verify|list`: inspects the audit log (dataDir/audit.sqlite) without writing to it.
 *   verify  walks the hash chain; exit 0 only when it is intact, 1 naming the first broken row, 2 when there is
 *           no audit log or on usage errors. Missing append-only triggers are reported as a warning.
 *   list    prints recent events (newest first).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuditStore } from './audit-store.js';
import { defaultDataDir } from '../../node/services/paths.js';
import { intFlag, parseArgs, UsageError, type FlagSpec, type Parsed } from '../../node/cli/args.js';
import { makeOut, type Out } from '../../node/cli/output.js';
import type { CliCommand } from '../../node/cli/commands.js';

export const AUDIT_HELP = `Usage: medfedpure audit verify [--data-dir D] [--json]
       medfedpure audit list [--limit N] [--before SEQ] [--event CODE] [--participant ID] [--data-dir D] [--json]

verify  checks the audit log's SHA-256 hash chain; exit 0 only when it is intact, otherwise 1 and the first
        broken row's seq (2: no audit log, or usage error).
list    shows the newest events (default 50).`;

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
  throw new UsageError(`unknown audit subcommand "${sub}" (verify, list)`);
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

export const auditCommands: CliCommand[] = [
  {
    name: 'audit',
    usage: [
      'audit verify [--data-dir D]            check the audit log\'s hash chain (exit 0 only when intact)',
    'audit list [--limit N] [--data-dir D]  show recent audit events',
    ],
    run: (argv) => auditCommand(argv),
  },
];
