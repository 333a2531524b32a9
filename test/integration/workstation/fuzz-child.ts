/**
 * The fuzz test's subject process (spawned by fuzz.test.ts under a V8 heap ceiling): imports a corpus folder into a
 * fresh data folder the way the app does (audited), decodes every stored frame, scans them with the real engine,
 * runs every image file through the scan CLI's preprocessing, and prints one JSON line of what happened: error codes
 * (every one must be typed), counts and peak RSS (import + decode phase, and overall).
 *
 * Usage: node --import tsx fuzz-child.ts <corpus-dir> <data-dir>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/features/node.js';
import { EngineCore } from '../../../native-models/src/inference/engine/core.js';
import { sniffFormat } from '../../../native-models/src/inference/image/decode.js';
import { preprocessImageBytes } from '../../../native-models/src/inference/pipeline/preprocess.js';

const [corpus, dataDir] = process.argv.slice(2);
const peakMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
const codeOf = (e: unknown): string => {
  const o = e as { code?: unknown; details?: { code?: unknown } };
  return typeof o?.details?.code === 'string' ? `${String(o.code)}/${o.details.code}` : typeof o?.code === 'string' ? o.code : `UNTYPED ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`.slice(0, 200);
};
const tally = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

const engineCore = EngineCore.create({ ep: 'cpu', threads: 1, warmup: false });
const services = createServices({ dataDir, host: 'browser', user: { id: 'fuzz', role: 'tester' }, frameCacheBytes: 64 * 1024 * 1024, engine: async () => {
  const core = await engineCore;
  return { scan: (r) => core.scan(r), status: async () => core.status() };
} });

const files = readdirSync(corpus).sort();
const dicomDir = join(corpus);
const importErrors: Record<string, number> = {};
const frameErrors: Record<string, number> = {};
const scanErrors: Record<string, number> = {};
const imageErrors: Record<string, number> = {};

const result = await services.imports.importPaths([dicomDir]);
for (const e of result.errors) tally(importErrors, e.code);

// Decode every stored frame (the viewer's path).
const instances: string[] = [];
for (const study of services.studies.listStudies()) {
  for (const series of services.studies.listSeries(study.studyInstanceUid)) {
    for (const inst of services.studies.listInstances(series.seriesInstanceUid)) instances.push(inst.sopInstanceUid);
  }
}
let framesDecoded = 0;
for (const sop of instances) {
  try {
    await services.handlers['instances.frame']({ sopInstanceUid: sop });
    framesDecoded++;
  } catch (e) {
    tally(frameErrors, codeOf(e));
  }
}
// The scan CLI's path for image files (PNG/JPEG header bombs among them).
let imagesScanned = 0;
for (const f of files) {
  const bytes = readFileSync(join(corpus, f));
  if (!sniffFormat(bytes)) continue;
  try {
    preprocessImageBytes(bytes, 64, f);
    imagesScanned++;
  } catch (e) {
    tally(imageErrors, codeOf(e));
  }
}
const peakImportMiB = peakMiB();

// Scan what was stored, with the real engine (detect → purify when flagged → classify), a bounded sample.
let scanned = 0;
for (const sop of instances.slice(0, 40)) {
  try {
    await services.scan.run(sop);
    scanned++;
  } catch (e) {
    tally(scanErrors, codeOf(e));
  }
}
const audit = services.audit.verify();
services.close('fuzz done');
await (await engineCore).close();

process.stdout.write(`${JSON.stringify({
  files: files.length, imported: result.imported, duplicates: result.duplicates, skipped: result.skipped ?? 0,
  importErrors, instances: instances.length, framesDecoded, frameErrors, imagesScanned, imageErrors, scanned, scanErrors,
  auditOk: audit.ok, auditRows: audit.rows, peakImportMiB, peakMiB: peakMiB(),
})}\n`);
