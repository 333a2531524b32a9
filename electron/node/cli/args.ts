/**
 * Command-line flag parsing for the product's commands: the one parser of the repository,
 * native-models/src/core/cli-args.ts (Node's util.parseArgs with a table that also prints --help).
 */
export { intFlag, parseArgs, usage, UsageError, type FlagDoc, type FlagKind, type FlagSpec, type Parsed } from '../../../native-models/src/core/cli-args.js';
