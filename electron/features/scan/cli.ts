/**
 * `medfedpure scan <file|dir|series-uid>... [--json] [--data-dir D] [--mode M] [--seed N] [--models-dir D]`
 *
 * Runs the defence pipeline (detect → adaptive purify → classify) on image files (JPEG/PNG by content, DICOM) or,
 * for an argument that is not a path, on every instance of that series in the study store (through the scan
 * service: stored and audited like a scan from the UI). Prints one row per image: file, state, label, p(tumour),
 * flagged, score/threshold, OOD score/cut, t*, ms — or with --json one JSON object per line. No label is ever read.
 * DICOM files pass the intended-use gate first (intended-use.ts): anything but an axial brain MR slice is reported
 * "outside intended use: <reason>" with no label. JPEG/PNG files have no header to check and are answered as
 * research-benchmark images, which the row says. The thresholds are those in force for the data folder (its site
 * calibration when one is stored, trust.ts).
 *
 * `medfedpure calibrate site (--series UID... | --study UID...) [--fpr 0.05] [--dry-run] [--json] [--data-dir D]`
 * re-measures the flag threshold and the out-of-distribution cut on the site's own clean axial slices and stores
 * them with the site's settings (site-calibration.ts); audited as a software configuration change.
 * Exit status: 0 all scanned, 1 some failed (each named with its error code), 2 usage error.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { decodeDicomFileAsync } from '../studies/dicom/decode.js';
import { parseDicomFile } from '../studies/dicom/parse.js';
import { readImageFacts } from '../studies/dicom/facts.js';
import { checkIntendedUse, outsideMessage } from './intended-use.js';
import { judge, thresholdsInForce } from './trust.js';
import { loadSiteCalibration } from './site-calibration.js';
import type { ScanState } from './api.js';
import { defaultDataDir } from '../../node/services/paths.js';
import { createServices } from '../node.js';
import { engineFromRpc, type ScanEngine } from './service.js';
import { intFlag, parseArgs, usage, UsageError, type FlagSpec } from '../../node/cli/args.js';
import type { CliCommand } from '../../node/cli/commands.js';

export const SCAN_HELP = `Usage: medfedpure scan <file|dir|series-uid>... [--json] [--data-dir D] [--mode adaptive|purify-all|undefended] [--seed N] [--models-dir D]

Scans image files (JPEG, PNG, DICOM; folders recursively) or a stored series (by Series Instance UID).
Prints file, state, label, p(tumour), flagged, score/threshold, OOD score/cut, t*, ms per image. Never reads a label.
DICOM that is not an axial brain MR slice is "outside intended use" (no label); JPEG/PNG files are answered as
research-benchmark images. Thresholds: the data folder's site calibration when one is stored, else the shipped one.`;

const CALIBRATE_SITE_SPEC = {
  series: { kind: 'boolean', help: 'the UIDs that follow are Series Instance UIDs' },
  study: { kind: 'boolean', help: 'the UIDs that follow are Study Instance UIDs' },
  fpr: { kind: 'string', value: 'P', help: 'target flag rate on clean slices (default 0.05)' },
  'dry-run': { kind: 'boolean', help: 'measure and print, store and audit nothing' },
  'data-dir': { kind: 'string', value: 'D', help: 'data folder (its study store, audit log and site settings)' },
  'models-dir': { kind: 'string', value: 'D', help: 'models folder (default native-models/models)' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;

export const CALIBRATE_SITE_HELP = usage('medfedpure calibrate site', CALIBRATE_SITE_SPEC, '(--series UID... | --study UID...)',
  `Re-measures the detector's flag threshold (the (1 - fpr) quantile) and the out-of-distribution cut (99th percentile)
on this site's own recent clean studies: every slice of the named series/studies that passes the intended-use gate
(at least 20). Prints the old and new thresholds and the flag rate to expect on new clean studies with its spread.
Stores them in <data-dir>/site/detector-calibration.json (used by scans from then on) and audits the change.
Name only studies you know to be clean and typical of this site's scanners.`);

interface Row {
  file: string;
  state?: ScanState;
  /** Intended-use reasons (outside) or the research-benchmark note. */
  note?: string;
  label?: string | null;
  pTumour?: number;
  flagged?: boolean;
  score?: number | null;
  threshold?: number | null;
  ood?: { score: number; threshold: number; out: boolean } | null;
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
  const dataDir = (flags['data-dir'] as string | undefined) ?? defaultDataDir();
  const force = thresholdsInForce(core.status(), loadSiteCalibration(dataDir));
  if (!json && force.problem) process.stderr.write(`note: ${force.problem}\n`);
  const siteThreshold = mode === 'adaptive' && force.thresholds?.source === 'site' ? { threshold: force.thresholds.flag.threshold } : {};
  try {
    const files = positional.filter((p) => existsSync(p)).flatMap((p) => walk(resolve(p)));
    const series = positional.filter((p) => !existsSync(p));
    // Submit all files at once: the engine queue batches them.
    await Promise.all(files.map(async (file) => {
      try {
        const t0 = performance.now();
        const bytes = readFileSync(file);
        let image;
        let note: string | undefined;
        if (sniffFormat(bytes)) {
          image = preprocessImageBytes(bytes, size, file);
          const use = checkIntendedUse(null);
          note = use.status === 'research-benchmark' ? use.note : undefined;
        } else {
          const ds = parseDicomFile(bytes, file);
          const use = checkIntendedUse(readImageFacts(ds));
          if (use.status === 'outside') {
            print({ file, state: 'outside-intended-use', note: outsideMessage(use.reasons), label: null, ms: performance.now() - t0 });
            return;
          }
          image = preprocessFrame(await decodeDicomFileAsync(bytes, file), size);
        }
        const r = await core.scan({ image, options: { ...options, ...siteThreshold } });
        const j = judge(r, mode === 'adaptive' ? force.thresholds : null);
        print({ file, state: j.state, ...(note ? { note } : {}), label: r.label, pTumour: r.probabilities[1], flagged: r.flagged, score: r.score, threshold: r.threshold, ood: j.ood, tStar: r.tStar, ms: performance.now() - t0 });
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        print({ file, error: code === undefined || /^DICOM|NOT_DICOM/.test(String(code)) ? { code: 'E_NOT_IMAGE', message: err(e).message } : err(e) });
      }
    }));
    if (series.length > 0) {
      if (mode !== 'adaptive' || seed !== undefined) throw new UsageError('--mode/--seed apply to files only; stored series are scanned as the UI does');
      const services = createServices({ dataDir, host: 'browser', auditLifecycle: false, engine: async () => engine });
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
              const note = r.intendedUse.status === 'outside' ? outsideMessage(r.intendedUse.reasons) : undefined;
              print({ file: `${uid}/${inst.sopInstanceUid}`, state: r.state, ...(note ? { note } : {}), label: r.label, pTumour: r.probabilities?.[1], flagged: r.flagged, score: r.score, threshold: r.threshold, ood: r.ood, tStar: r.tStar, ms: performance.now() - t0 });
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
    await core.close();
  }
  if (!json) {
    const w = Math.min(60, Math.max(4, ...rows.map((r) => r.file.length)));
    const lines = [`${'file'.padEnd(w)}  state      label      p(tumour)  flagged  score/thr  ood/cut   t*   ms`];
    const ratio = (a: number | null | undefined, b: number | null | undefined) => (a === null || a === undefined || !b ? '     —   ' : (a / b).toFixed(3).padStart(9));
    const STATE: Record<ScanState, string> = { answered: 'answered', 'outside-intended-use': 'OUTSIDE', 'unlike-training-data': 'UNLIKE' };
    for (const r of rows) {
      const f = r.file.length > w ? `…${r.file.slice(-(w - 1))}` : r.file.padEnd(w);
      if (r.error) lines.push(`${f}  ERROR ${r.error.code}: ${r.error.message}`);
      else if (r.state === 'outside-intended-use') lines.push(`${f}  ${STATE[r.state].padEnd(9)}  ${r.note}`);
      else lines.push(`${f}  ${STATE[r.state!].padEnd(9)}  ${r.label!.padEnd(9)}  ${r.pTumour!.toFixed(3).padStart(9)}  ${(r.flagged ? 'YES' : 'no').padEnd(7)}  ${ratio(r.score, r.threshold)}  ${ratio(r.ood?.score, r.ood?.threshold)}  ${String(r.tStar).padStart(3)}  ${r.ms!.toFixed(0).padStart(4)}`);
    }
    const notes = [...new Set(rows.filter((r) => r.state !== 'outside-intended-use' && r.note).map((r) => r.note!))];
    for (const n of notes) lines.push(`note: ${n}`);
    lines.push('state: answered | OUTSIDE intended use (no label) | UNLIKE the training data (the AI may be wrong here); score/thr and ood/cut are ratios (> 1 = over)');
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return rows.some((r) => r.error) ? 1 : 0;
}

const UID_RE = /^[0-9]+(\.[0-9]+)*$/;

export async function calibrateSiteCommand(argv: readonly string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, CALIBRATE_SITE_SPEC);
  if (flags.help) {
    process.stdout.write(`${CALIBRATE_SITE_HELP}\n`);
    return 0;
  }
  if (flags.series === flags.study) throw new UsageError('calibrate site needs exactly one of --series UID... or --study UID...');
  if (positional.length === 0) throw new UsageError(`--${flags.series ? 'series' : 'study'} needs at least one UID`);
  for (const uid of positional) if (uid.length > 64 || !UID_RE.test(uid)) throw new UsageError(`not a DICOM UID: ${uid.slice(0, 80)}`);
  const fpr = flags.fpr === undefined ? undefined : Number(flags.fpr);
  if (fpr !== undefined && !(fpr > 0 && fpr < 0.5)) throw new UsageError('--fpr must be a number in (0, 0.5)');
  const json = flags.json === true;
  const { EngineCore } = await import('../../../native-models/src/inference/engine/core.js');
  const core = await EngineCore.create({ modelsDir: flags['models-dir'] as string | undefined, ep: 'auto' });
  const engine: ScanEngine = { scan: (req) => core.scan(req), status: async () => core.status() };
  // Recalibrating a site's thresholds is an administrator's act: audited under the OS account, role 'admin'.
  const user = { id: userInfo().username || 'unknown', role: 'admin' };
  const services = createServices({ dataDir: (flags['data-dir'] as string | undefined) ?? defaultDataDir(), host: 'browser', auditLifecycle: false, engine: async () => engine, user });
  try {
    const out = await services.scan.calibrateSite({
      ...(flags.series ? { series: positional } : { studies: positional }), fpr, dryRun: flags['dry-run'] === true, actor: services.actor,
    });
    if (json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return 0;
    }
    const c = out.calibration;
    const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
    const exp = (e: typeof c.flag.expected) => (e ? `${pct(e.mean)} ± ${pct(e.sd)} (≤ ${pct(e.p95)} in 95 % of ${e.draws} half-splits by ${e.by})` : 'no spread (fewer than 4 groups)');
    const num = (v: number | undefined) => (v === undefined ? '—' : v.toExponential(4));
    const lines = [
      `site calibration on ${c.n} clean axial slices of ${c.series.length} series in ${c.studies.length} stud${c.studies.length === 1 ? 'y' : 'ies'}; ${c.excluded} slices left out by the intended-use gate`,
      ...Object.entries(out.excludedReasons).map(([reason, n]) => `  left out: ${n} × ${reason}`),
      `flag threshold (${c.flag.scoreKind}, ${pct(c.flag.fpr)} target): ${num(out.previous?.flag.threshold)} (${out.previous?.source ?? 'none'}) → ${num(c.flag.threshold)}`,
      `  flag rate on these slices ${pct(c.flag.rateOnTheseSlices)}; expected on new clean studies ${exp(c.flag.expected)}`,
      `out-of-distribution cut (mse, ${pct(c.ood.fpr)} target): ${num(out.previous?.ood.threshold)} (${out.previous?.source ?? 'none'}) → ${num(c.ood.threshold)}`,
      `  expected on new clean studies ${exp(c.ood.expected)}`,
      ...(c.spreadBy === 'slice' ? ['note: fewer than 4 series: the spread is drawn over single slices, which are alike within a series, so it is optimistic'] : []),
      out.path ? `stored: ${out.path} (audited); scans use it from now on` : 'dry run: nothing stored',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    services.close();
    await core.close();
  }
}

export const scanCommands: CliCommand[] = [
  {
    name: 'scan',
    usage: [
      'scan <file|dir|series-uid>... [--json] axial brain MR only: detect → purify → classify, per image',
    ],
    run: (argv) => scanCommand(argv),
  },
  {
    name: 'calibrate',
    usage: [
      'calibrate site (--series UID... | --study UID...) [--fpr 0.05] [--dry-run]',
      '                                       admin: flag threshold and OOD cut from this site\'s own clean slices',
    ],
    accepts: (argv) => argv[0] === 'site',
    run: (argv) => calibrateSiteCommand(argv.slice(1)),
  },
];
