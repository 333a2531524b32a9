#!/usr/bin/env node
// Entry point of the `medfedpure` CLI. The sources are TypeScript; tsx compiles them on load.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../electron/node/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
