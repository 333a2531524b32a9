/**
 * First-run demo data: when a data directory has never held a study, import the committed demo MR series
 * (build/demo-data, made by scripts/make-demo-data.ts) so the app opens onto real images. A marker file records
 * that this was done, so a user who later removes the demo data does not get it back.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImportResult } from '../api.js';
import { DEMO_DATA_DIR } from '../../node/services/paths.js';
import type { Services } from '../node.js';

const MARKER = '.demo-data-imported';

/** Imports the demo series on first run; returns the import result, or null when nothing was done. */
export async function importDemoDataOnFirstRun(services: Services, demoDir = DEMO_DATA_DIR): Promise<ImportResult | null> {
  const marker = join(services.info.dataDir, MARKER);
  if (existsSync(marker) || services.studies.countStudies() > 0 || !existsSync(demoDir)) return null;
  const result = await services.imports.importPaths([demoDir]);
  writeFileSync(marker, `${JSON.stringify({ importedUtc: new Date().toISOString(), from: demoDir, imported: result.imported })}\n`);
  return result;
}
