/**
 * The `medfedpure` command line of the product, composed from the features' commands (bin/medfedpure.js calls
 * `main`, adding the research commands of native-models/src/lab where they are present). Returns the exit status.
 */
import { runCli, type CliCommand } from '../node/cli/commands.js';
import { appVersion } from '../node/services/paths.js';
import { appCommands } from './app/serve.js';
import { auditCommands } from './audit/cli.js';
import { flCommands } from './fl/cli.js';
import { pacsCommands } from './pacs/cli.js';
import { scanCommands } from './scan/cli.js';
import { studiesCommands } from './studies/cli.js';

/** Every product command, in help order. */
export const PRODUCT_COMMANDS: readonly CliCommand[] = [...appCommands, ...studiesCommands, ...auditCommands, ...scanCommands, ...pacsCommands, ...flCommands];

export function main(argv: string[], extra: readonly CliCommand[] = []): Promise<number> {
  return runCli([...PRODUCT_COMMANDS, ...extra], argv, appVersion());
}
