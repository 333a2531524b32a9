#!/usr/bin/env node
// Entry point of the `medfedpure` CLI. The sources are TypeScript; tsx compiles them on load.
// The product's commands come from electron/features/cli.ts; the research commands (train, bench, dataset,
// calibrate) from native-models/src/lab/cli.ts, when that folder is present.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../electron/features/cli.ts');
let lab = [];
try {
  ({ LAB_COMMANDS: lab } = await import('../native-models/src/lab/cli.ts'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
}
process.exitCode = await main(process.argv.slice(2), lab);
