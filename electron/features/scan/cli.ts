/**
 * `medfedpure scan <file|dir|series-uid>... [--json] [--data-dir D] [--mode M] [--seed N] [--models-dir D]`
 *
 * Runs the defence pipeline (detect → adaptive purify → classify) on image files (JPEG/PNG by content, DICOM) or,
 * for an argument that is not a path, on every instance of that series in the study store (through the scan
 * service: stored and audited like a scan from the UI). Prints one row per image: file, label, p(tumour),
 * flagged, score/threshold, t*, ms — or with --json one JSON object per line. No label is ever read.
 * Exit status: 0 all scanned, 1 some failed (each named with its error code), 2 usage error.
 *
 * Every inference is audited, whatever the entry point: a stored series through the scan service; an image file here
 * (the data folder's audit log: DCM 110100 / MFP-INF naming the file and its sha256, plus a 110113 / MFP-ADV Security
 * Alert when flagged), as the OS account that ran the command (role 'os-account', details.via = 'cli').
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { AuditStore } from '../audit/audit-store.js';
import { EVENT_ID, MFP_EVENT_TYPE, PARTICIPANT } from '../audit/codes.js';
import { securityAlert, type AuditActor } from '../audit/events.js';
import { decodeDicomFileAsync } from '../studies/dicom/decode.js';
import { defaultDataDir } from '../../node/services/paths.js';
import { createServices } from '../node.js';
import { engineFromRpc, type ScanEngine } from './service.js';
import { intFlag, parseArgs, UsageError } from '../../node/cli/args.js';
import type { CliCommand } from '../../node/cli/commands.js';

export const SCAN_HELP = `Usage: medfedpure scan <file|dir|series-uid>... [--json] [--data-dir D] [--mode adaptive|purify-all|undefended] [--seed N] [--models-dir D]

Scans image files (JPEG, PNG, DICOM; folders recursively) or a stored series (by Series Instance UID).
Prints file, label, p(tumour), flagged, score/threshold, t*, ms per image. Never reads a label.`;

interface Row {
  file: string;
  label?: string;
  pTumour?: number;
  flagged?: boolean;
  score?: number | null;
  threshold?: number | null;
  tStar?: number;
  ms?: number;
  error?: { code: string; message: string };
}

function walk(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p).filter((n) => !n.startsWith('.')).sort().flatMap((n) => walk(join(p, n)));
}

const MODES = ['adaptive', 'purify-all', 'undefended'] as const;

export async function scanCommand(argv: readonly string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { json: 'boolean', help: 'boolean', 'data-dir': 'string', mode: 'string', seed: 'string', 'models-dir': 'string' });
  if (flags.help) {
    process.stdout.write(`${SCAN_HELP}\n`);
    return 0;
  }
  if (positional.length === 0) throw new UsageError('scan needs a file, folder or series UID');
  const mode = (flags.mode as string | undefined) ?? 'adaptive';
  if (!MODES.includes(mode as never)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`);
  const seed = intFlag(flags.seed, 'seed', 0, 2 ** 31 - 1);
  const json = flags.json === true;
  const rows: Row[] = [];
  const print = (r: Row) => {
    rows.push(r);
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  };
  const err = (e: unknown) => ({ code: String((e as { code?: unknown }).code ?? (e as { details?: { code?: string } }).details?.code ?? 'ERROR'), message: e instanceof Error ? e.message : String(e) });

  const { EngineCore } = await import('../../../native-models/src/inference/engine/core.js');
  const { preprocessFrame, preprocessImageBytes } = await import('../../../native-models/src/inference/pipeline/preprocess.js');
  const { sniffFormat } = await import('../../../native-models/src/inference/image/decode.js');
  const core = await EngineCore.create({ modelsDir: flags['models-dir'] as string | undefined, ep: 'auto' });
  const engine: ScanEngine = { scan: (req) => core.scan(req), status: async () => core.status() };
  const size = core.pipeline.size;
  const options = { mode: mode as (typeof MODES)[number], ...(seed !== undefined ? { seed } : {}) };
  if (!json && core.pipeline.models.mae.trained === false) process.stderr.write('note: untrained development models (no native-models/models/manifest.json) — results are not meaningful\n');
  const files = positional.filter((p) => existsSync(p)).flatMap((p) => walk(resolve(p)));
  const series = positional.filter((p) => !existsSync(p));
  let audit: AuditStore | null = null;
  let actor: AuditActor | null = null;
  if (files.length > 0) {
    const dataDir = resolve((flags['data-dir'] as string | undefined) ?? defaultDataDir());
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    audit = AuditStore.open(join(dataDir, 'audit.sqlite'));
    let user = 'unknown';
    try {
      user = userInfo().username || user;
    } catch {
      /* keep 'unknown' */
    }
    actor = { userId: user, userRole: 'os-account', workstation: hostname() };
  }
  try {
    // Submit all files at once: the engine queue batches them.
    await Promise.all(files.map(async (file) => {
      try {
        const t0 = performance.now();
        const bytes = readFileSync(file);
        const image = sniffFormat(bytes) ? preprocessImageBytes(bytes, size, file) : preprocessFrame(await decodeDicomFileAsync(bytes, file), size);
        const r = await core.scan({ image, options });
        const participants = [{ type: PARTICIPANT.file, id: file }];
        const details = {
          via: 'cli', sha256: createHash('sha256').update(bytes).digest('hex'), label: r.label, pTumour: r.probabilities[1], flagged: r.flagged, score: r.score,
          threshold: r.threshold, tStar: r.tStar, mode: r.mode, seed: r.seed, ep: r.ep, models: r.models.map((m) => ({ name: m.name, version: m.version, sha256: m.sha256, trained: m.trained })),
        };
        audit!.append({ ...actor!, eventId: EVENT_ID.applicationActivity, eventTypeCode: MFP_EVENT_TYPE.aiInference, action: 'E', outcome: 'success', participants, details });
        if (r.flagged) audit!.append(securityAlert(actor!, MFP_EVENT_TYPE.suspectedAdversarialInput, { ...details, message: 'MAE reconstruction error above the calibrated threshold' }, { participants }));
        print({ file, label: r.label, pTumour: r.probabilities[1], flagged: r.flagged, score: r.score, threshold: r.threshold, tStar: r.tStar, ms: performance.now() - t0 });
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        print({ file, error: code === undefined || /^DICOM|NOT_DICOM/.test(String(code)) ? { code: 'E_NOT_IMAGE', message: err(e).message } : err(e) });
      }
    }));
    if (series.length > 0) {
      if (mode !== 'adaptive' || seed !== undefined) throw new UsageError('--mode/--seed apply to files only; stored series are scanned as the UI does');
      const services = createServices({ dataDir: (flags['data-dir'] as string | undefined) ?? defaultDataDir(), host: 'browser', auditLifecycle: false, engine: async () => engine });
      try {
        for (const uid of series) {
          let instances;
          try {
            instances = services.studies.listInstances(uid);
          } catch (e) {
            print({ file: uid, error: err(e) });
            continue;
          }
          if (instances.length === 0) print({ file: uid, error: { code: 'NOT_FOUND', message: `no file or stored series ${uid}` } });
          await Promise.all(instances.map(async (inst) => {
            try {
              const t0 = performance.now();
              const r = await services.scan.run(inst.sopInstanceUid);
              print({ file: `${uid}/${inst.sopInstanceUid}`, label: r.label, pTumour: r.probabilities[1], flagged: r.flagged, score: r.score, threshold: r.threshold, tStar: r.tStar, ms: performance.now() - t0 });
            } catch (e) {
              print({ file: `${uid}/${inst.sopInstanceUid}`, error: err(e) });
            }
          }));
        }
      } finally {
        services.close();
      }
    }
  } finally {
    audit?.close();
    await core.close();
  }
  if (!json) {
    const w = Math.min(60, Math.max(4, ...rows.map((r) => r.file.length)));
    const lines = [`${'file'.padEnd(w)}  label      p(tumour)  flagged  score/thr   t*   ms`];
    for (const r of rows) {
      const f = r.file.length > w ? `…${r.file.slice(-(w - 1))}` : r.file.padEnd(w);
      if (r.error) lines.push(`${f}  ERROR ${r.error.code}: ${r.error.message}`);
      else lines.push(`${f}  ${r.label!.padEnd(9)}  ${r.pTumour!.toFixed(3).padStart(9)}  ${(r.flagged ? 'YES' : 'no').padEnd(7)}  ${r.score === null || r.score === undefined ? '     —    ' : (r.score / r.threshold!).toFixed(3).padStart(10)}  ${String(r.tStar).padStart(3)}  ${r.ms!.toFixed(0).padStart(4)}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return rows.some((r) => r.error) ? 1 : 0;
}

export const scanCommands: CliCommand[] = [
  {
    name: 'scan',
    usage: [
      'scan <file|dir|series-uid>... [--json] detect → adaptive purify → classify; one row per image',
    ],
    run: (argv) => scanCommand(argv),
  },
];
