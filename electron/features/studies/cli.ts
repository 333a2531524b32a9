/**
 * `medfedpure import <file|dir|DICOMDIR>... [--data-dir D] [--json]`: imports DICOM from disk into the study
 * store (audited as DCM 110107 Import). Exit 0 when every file was imported or already present, 1 when some
 * files failed (each named with its reason), 2 on usage errors.
 */
import { defaultDataDir } from '../../node/services/paths.js';
import { createServices } from '../node.js';
import { parseArgs, UsageError } from '../../node/cli/args.js';
import { makeOut } from '../../node/cli/output.js';
import type { CliCommand } from '../../node/cli/commands.js';

export const IMPORT_HELP = `Usage: medfedpure import <file|dir|DICOMDIR>... [--data-dir D] [--json]

Imports DICOM files, folders (recursively) and DICOMDIR media into the study store.
Bad files are reported with the reason; the rest of the import continues. Duplicates are skipped.
Exit status: 0 all imported or already present, 1 some files failed, 2 usage error.`;

export async function importCommand(argv: readonly string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { 'data-dir': 'string', json: 'boolean', help: 'boolean' });
  if (flags.help) {
    process.stdout.write(`${IMPORT_HELP}\n`);
    return 0;
  }
  if (positional.length === 0) throw new UsageError('import needs at least one file or folder');
  const out = makeOut(flags.json === true);
  const services = createServices({ dataDir: (flags['data-dir'] as string | undefined) ?? defaultDataDir(), host: 'browser', auditLifecycle: false });
  try {
    const result = await services.imports.importPaths(positional);
    out.result({ ...result, dataDir: services.info.dataDir }, () => {
      const lines = [
        `Imported ${result.imported} instance(s), ${result.duplicates} already present, ${result.skipped ?? 0} skipped, ${result.errors.length} error(s); ${result.studies.length} study(ies).`,
        ...result.errors.map((e) => `  ${e.file}: ${e.code}: ${e.message}`),
      ];
      return lines.join('\n');
    });
    return result.errors.length === 0 ? 0 : 1;
  } finally {
    services.close();
  }
}

export const studiesCommands: CliCommand[] = [
  {
    name: 'import',
    usage: [
      'import <file|dir|DICOMDIR>... [--data-dir D]',
    '                                       import DICOM into the study store',
    ],
    run: (argv) => importCommand(argv),
  },
];
