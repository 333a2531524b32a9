/**
 * `medfedpure pacs …`: DICOMweb for admins and scripts (search, pull into the local store, push, send AI reports,
 * manage the site's endpoints). Every transfer goes through the same PACS service the UI uses, so it is audited the
 * same way. Secrets are never taken on the command line (other users can read it in the process list): a basic
 * password comes from $MEDFEDPURE_PACS_PASSWORD, a bearer token from $MEDFEDPURE_PACS_TOKEN.
 *
 * Exit status says what failed: 0 ok; 1 a local failure (store, files); 2 usage; 3 the PACS could not be reached
 * (connect, TLS, timeout); 4 the PACS refused or answered nonsense (HTTP status, bad answer); 5 incomplete (a
 * transfer stopped part-way or some instances were refused; a retry resumes); 130 cancelled with Ctrl-C.
 */
import { resolve } from 'node:path';
import { intFlag, parseArgs, UsageError, type FlagSpec, type Parsed } from '../../node/cli/args.js';
import type { CliCommand } from '../../node/cli/commands.js';
import { makeOut, type Out } from '../../node/cli/output.js';
import { defaultDataDir } from '../../node/services/paths.js';
import { createRouter, createServices, type Services } from '../node.js';
import { collectPaths } from '../studies/store/importer.js';
import type { PacsErrorCode, PacsJob } from './api.js';
import { DEFAULT_TIMEOUT_MS, endpointInfo, normaliseBaseUrl, type PacsEndpoint } from './endpoints.js';
import { PacsError } from './errors.js';
import { adHocEndpoint } from './service.js';

export const PACS_HELP = `Usage: medfedpure pacs <subcommand> [options]

  search  (--url URL | --endpoint ID) [--patient-id ID] [--patient-name NAME] [--study UID] [--date YYYYMMDD[-YYYYMMDD]]
          [--modality MR] [--limit N] [--offset N]             studies on the PACS (QIDO-RS)
  series  (--url URL | --endpoint ID) --study UID             series of a study, with their local state
  pull    (--url URL | --endpoint ID) --study UID [--series UID]
                                                              retrieve into the local store (WADO-RS), audited
  push    (--url URL | --endpoint ID) <file|dir>...           send DICOM files (STOW-RS), audited
  report  (--url URL | --endpoint ID) --series UID            send the series' stored AI results as a DICOM SR
  endpoints                                                   the site's configured endpoints (no secrets shown)
  add-endpoint --id ID --url URL [--name N] [--auth none|basic|bearer] [--user U] [--ca FILE] [--timeout S]
  remove-endpoint --id ID

With --url: --user U (basic auth; password from $MEDFEDPURE_PACS_PASSWORD), --bearer (token from
$MEDFEDPURE_PACS_TOKEN), --ca FILE (extra trusted CA, PEM), --timeout SECONDS (idle timeout, default 30).
add-endpoint takes the secret from $MEDFEDPURE_PACS_PASSWORD (basic) or $MEDFEDPURE_PACS_TOKEN (bearer).
Every subcommand takes --data-dir D and --json.

Exit status: 0 ok, 1 local failure, 2 usage, 3 PACS unreachable (connect, TLS, timeout), 4 PACS refused the
request (HTTP error, bad answer), 5 incomplete transfer (retry to resume), 130 cancelled.`;

const COMMON: FlagSpec = { 'data-dir': 'string', json: 'boolean', help: 'boolean' };
const CONNECT: FlagSpec = { url: 'string', endpoint: 'string', user: 'string', bearer: 'boolean', ca: 'string', timeout: 'string' };

/** Exit status for a PACS error code. */
export function exitCodeFor(code: PacsErrorCode): number {
  switch (code) {
    case 'UNREACHABLE':
    case 'TLS':
    case 'TIMEOUT':
      return 3;
    case 'HTTP_STATUS':
    case 'BAD_RESPONSE':
      return 4;
    case 'PARTIAL':
      return 5;
    case 'CANCELLED':
      return 130;
    case 'REFUSED':
      return 2;
  }
}

function endpointFrom(flags: Parsed['flags'], services: Services): PacsEndpoint {
  const url = flags.url as string | undefined;
  const id = flags.endpoint as string | undefined;
  if ((url === undefined) === (id === undefined)) throw new UsageError('give exactly one of --url URL and --endpoint ID');
  if (id !== undefined) {
    const e = services.pacs.endpoints.get(id);
    if (!e) throw new UsageError(`no configured endpoint "${id}" (see: medfedpure pacs endpoints)`);
    return e;
  }
  let auth: PacsEndpoint['auth'] = { kind: 'none' };
  if (flags.user !== undefined && flags.bearer) throw new UsageError('--user and --bearer exclude each other');
  if (flags.user !== undefined) {
    const secret = process.env.MEDFEDPURE_PACS_PASSWORD;
    if (!secret) throw new UsageError('--user needs the password in $MEDFEDPURE_PACS_PASSWORD');
    auth = { kind: 'basic', username: flags.user as string, secret };
  } else if (flags.bearer) {
    const secret = process.env.MEDFEDPURE_PACS_TOKEN;
    if (!secret) throw new UsageError('--bearer needs the token in $MEDFEDPURE_PACS_TOKEN');
    auth = { kind: 'bearer', secret };
  }
  const timeout = intFlag(flags.timeout, 'timeout', 1, 600);
  let normalised: string;
  try {
    normalised = normaliseBaseUrl(url!);
  } catch (err) {
    throw new UsageError(`--url: ${(err as Error).message}`);
  }
  return adHocEndpoint(normalised, auth, { caFile: flags.ca !== undefined ? resolve(flags.ca as string) : undefined, timeoutMs: timeout !== undefined ? timeout * 1000 : undefined });
}

/** Parses, opens the services (one-shot: no lifecycle audit), runs, maps PacsError to its exit status, closes. */
async function withServices(argv: readonly string[], spec: FlagSpec, body: (services: Services, p: Parsed, out: Out) => Promise<number>): Promise<number> {
  const parsed = parseArgs(argv, { ...COMMON, ...spec });
  if (parsed.flags.help) {
    process.stdout.write(`${PACS_HELP}\n`);
    return 0;
  }
  const out = makeOut(parsed.flags.json === true);
  const services = createServices({ dataDir: (parsed.flags['data-dir'] as string | undefined) ?? defaultDataDir(), host: 'browser', auditLifecycle: false });
  try {
    return await body(services, parsed, out);
  } catch (err) {
    if (err instanceof PacsError) {
      out.error(`${err.code}: ${err.message}`);
      return exitCodeFor(err.code);
    }
    throw err;
  } finally {
    services.close();
  }
}

function noPositional(p: Parsed): void {
  if (p.positional.length > 0) throw new UsageError(`unexpected argument ${p.positional[0]}`);
}

function required(p: Parsed, name: string): string {
  const v = p.flags[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Progress for pulls: a redrawn bar on a terminal, else a line per 10 % and per series. */
function progressPrinter(out: Out): { update(job: PacsJob): void; end(): void } {
  const tty = !out.json && process.stdout.isTTY === true;
  let lastDecile = -1;
  let lastSeries: string | undefined;
  let drawn = false;
  return {
    update(job) {
      if (job.state !== 'running') return;
      const total = Math.max(job.expected, 1);
      const frac = Math.min(1, job.done / total);
      if (tty) {
        const width = 30;
        const filled = Math.round(frac * width);
        process.stdout.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${job.done}/${job.expected} instances, ${mb(job.bytes)}   `);
        drawn = true;
        return;
      }
      const decile = Math.floor(frac * 10);
      if (job.seriesInstanceUid !== lastSeries || decile !== lastDecile) {
        if (job.seriesInstanceUid !== lastSeries && job.seriesInstanceUid) out.info(`series ${job.seriesInstanceUid}`);
        out.info(`progress ${job.done}/${job.expected} instances (${Math.round(frac * 100)} %), ${mb(job.bytes)}`);
        lastDecile = decile;
        lastSeries = job.seriesInstanceUid;
      }
    },
    end() {
      if (drawn) process.stdout.write('\n');
    },
  };
}

async function search(argv: readonly string[]): Promise<number> {
  return withServices(argv, { ...CONNECT, 'patient-id': 'string', 'patient-name': 'string', study: 'string', date: 'string', modality: 'string', limit: 'string', offset: 'string' }, async (services, p, out) => {
    noPositional(p);
    const e = endpointFrom(p.flags, services);
    const f = p.flags;
    const r = await services.pacs.search(e, {
      patientId: f['patient-id'] as string | undefined,
      patientName: f['patient-name'] as string | undefined,
      studyInstanceUid: f.study as string | undefined,
      studyDate: f.date as string | undefined,
      modality: f.modality as string | undefined,
      limit: intFlag(f.limit, 'limit', 1, 500),
      offset: intFlag(f.offset, 'offset', 0, 1_000_000),
    });
    out.result({ endpoint: e.url, ...r }, () => {
      const lines = r.studies.map(
        (s) => `${s.studyInstanceUid}  ${s.studyDate ?? '--------'}  ${s.patientId}  ${s.patientName}  ${s.modalities.join('/')}  ${s.instanceCount ?? '?'} inst  ${s.studyDescription ?? ''}  [local: ${s.local}]`,
      );
      return [`${r.studies.length} study(ies) on ${e.url}${r.mayHaveMore ? ` (more: --offset ${r.offset + r.limit})` : ''}`, ...lines].join('\n');
    });
    return 0;
  });
}

async function series(argv: readonly string[]): Promise<number> {
  return withServices(argv, { ...CONNECT, study: 'string' }, async (services, p, out) => {
    noPositional(p);
    const e = endpointFrom(p.flags, services);
    const list = await services.pacs.series(e, required(p, 'study'));
    out.result({ endpoint: e.url, series: list }, () =>
      list.map((s) => `${s.seriesInstanceUid}  #${s.seriesNumber ?? '-'}  ${s.modality ?? '--'}  ${s.instanceCount ?? '?'} inst  ${s.seriesDescription ?? ''}  [local: ${s.local}]`).join('\n') || 'no series',
    );
    return 0;
  });
}

async function pull(argv: readonly string[]): Promise<number> {
  return withServices(argv, { ...CONNECT, study: 'string', series: 'string' }, async (services, p, out) => {
    noPositional(p);
    const e = endpointFrom(p.flags, services);
    const study = required(p, 'study');
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    const progress = progressPrinter(out);
    let job: PacsJob;
    try {
      job = await services.pacs.retrieve(e, study, p.flags.series as string | undefined, { signal: controller.signal, onProgress: (j) => progress.update(j) });
    } finally {
      process.off('SIGINT', onSigint);
      progress.end();
    }
    out.result({ endpoint: e.url, dataDir: services.info.dataDir, ...job }, () =>
      [
        `${job.state}: ${job.done}/${job.expected} instance(s) of study ${study} in the local store, ${mb(job.bytes)} received`,
        ...job.refused.map((r) => `  refused ${r.sopInstanceUid}: ${r.code}: ${r.message}`),
        ...(job.error ? [`  ${job.error.code}: ${job.error.message}`] : []),
        ...(job.state === 'failed' ? ['  run the same command again to fetch only what is missing'] : []),
      ].join('\n'),
    );
    if (job.state === 'complete') return 0;
    return job.error ? exitCodeFor(job.error.code) : 5;
  });
}

async function push(argv: readonly string[]): Promise<number> {
  return withServices(argv, CONNECT, async (services, p, out) => {
    if (p.positional.length === 0) throw new UsageError('push needs at least one file or folder');
    const e = endpointFrom(p.flags, services);
    const collected = collectPaths(p.positional);
    out.info(`sending ${collected.sources.length} file(s) to ${e.url}`);
    const r = await services.pacs.storeFiles(e, collected.sources);
    const errors = [...collected.errors.map((x) => ({ file: x.file, message: x.message })), ...r.errors];
    out.result({ endpoint: e.url, stored: r.stored, failed: r.failed, errors }, () =>
      [
        `stored ${r.stored.length} instance(s) on ${e.url}, ${r.failed.length} refused by the PACS, ${errors.length} file(s) not sent`,
        ...r.failed.map((x) => `  refused ${x.sopInstanceUid}: ${x.reason}`),
        ...errors.map((x) => `  ${x.file}: ${x.message}`),
      ].join('\n'),
    );
    if (r.failed.length > 0) return 5;
    return errors.length > 0 ? 1 : 0;
  });
}

async function report(argv: readonly string[]): Promise<number> {
  return withServices(argv, { ...CONNECT, series: 'string' }, async (services, p, out) => {
    noPositional(p);
    const e = endpointFrom(p.flags, services);
    const r = await services.pacs.sendReport(e, required(p, 'series'));
    out.result({ endpoint: e.url, ...r }, () => `stored AI report ${r.report?.sopInstanceUid} (series ${r.report?.seriesInstanceUid}) on ${e.url}`);
    return 0;
  });
}

async function endpoints(argv: readonly string[]): Promise<number> {
  return withServices(argv, {}, async (services, p, out) => {
    noPositional(p);
    const list = services.pacs.endpoints.list().map(endpointInfo);
    out.result(list, () => list.map((e) => `${e.id}  ${e.url}  auth=${e.auth.kind}${e.auth.username ? ` user=${e.auth.username}` : ''}${e.caFile ? ` ca=${e.caFile}` : ''}  "${e.name}"`).join('\n') || 'no PACS endpoints configured');
    return 0;
  });
}

async function addEndpoint(argv: readonly string[]): Promise<number> {
  return withServices(argv, { id: 'string', url: 'string', name: 'string', auth: 'string', user: 'string', ca: 'string', timeout: 'string' }, async (services, p, out) => {
    noPositional(p);
    const kind = (p.flags.auth as string | undefined) ?? (p.flags.user !== undefined ? 'basic' : 'none');
    if (kind !== 'none' && kind !== 'basic' && kind !== 'bearer') throw new UsageError('--auth must be none, basic or bearer');
    const secret = kind === 'basic' ? process.env.MEDFEDPURE_PACS_PASSWORD : kind === 'bearer' ? process.env.MEDFEDPURE_PACS_TOKEN : undefined;
    const timeout = intFlag(p.flags.timeout, 'timeout', 1, 600);
    const request = {
      id: required(p, 'id'),
      name: (p.flags.name as string | undefined) ?? required(p, 'url'),
      url: required(p, 'url'),
      auth: { kind, ...(p.flags.user !== undefined ? { username: p.flags.user as string } : {}), ...(secret ? { secret } : {}) },
      ...(p.flags.ca !== undefined ? { caFile: resolve(p.flags.ca as string) } : {}),
      timeoutMs: (timeout ?? DEFAULT_TIMEOUT_MS / 1000) * 1000,
    };
    // Through the router, so the request is checked by the same validator as the UI's.
    const info = await createRouter(services).invoke('pacs.saveEndpoint', request as Parameters<Services['handlers']['pacs.saveEndpoint']>[0]);
    out.result(info, () => `saved endpoint ${info.id} (${info.url}, auth ${info.auth.kind})`);
    return 0;
  });
}

async function removeEndpoint(argv: readonly string[]): Promise<number> {
  return withServices(argv, { id: 'string' }, async (services, p, out) => {
    noPositional(p);
    const r = await createRouter(services).invoke('pacs.removeEndpoint', { id: required(p, 'id') });
    out.result(r, () => (r.removed ? 'removed' : 'no such endpoint'));
    return r.removed ? 0 : 1;
  });
}

export async function pacsCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${PACS_HELP}\n`);
      return sub === undefined ? 2 : 0;
    case 'search':
      return search(rest);
    case 'series':
      return series(rest);
    case 'pull':
      return pull(rest);
    case 'push':
      return push(rest);
    case 'report':
      return report(rest);
    case 'endpoints':
      return endpoints(rest);
    case 'add-endpoint':
      return addEndpoint(rest);
    case 'remove-endpoint':
      return removeEndpoint(rest);
  }
  throw new UsageError(`unknown pacs subcommand "${sub}" (search, series, pull, push, report, endpoints, add-endpoint, remove-endpoint)`);
}

export const pacsCommands: CliCommand[] = [
  {
    name: 'pacs',
    usage: [
      'pacs search|series|pull|push|report (--url URL | --endpoint ID) ...',
      '                                       DICOMweb: search, retrieve, store (see: medfedpure pacs --help)',
      'pacs endpoints|add-endpoint|remove-endpoint',
      '                                       the site\'s configured PACS endpoints',
    ],
    run: (argv) => pacsCommand(argv),
  },
];
