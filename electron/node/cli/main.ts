/**
 * The `medfedpure` command line (bin/medfedpure.js calls `main`). Returns the process exit status.
 *
 *   serve              the browser host (serve.ts)
 *   import             DICOM import (import.ts)
 *   audit verify|list  the audit log (audit.ts)
 *   bench train        native-models training benchmark (loaded on demand)
 *   dataset            native-models dataset tools (loaded on demand)
 *   train              native-models training recipes (loaded on demand)
 *
 * Every subcommand takes --help and --json. Exit status 2 means a usage error.
 */
import { auditCommand } from './audit.js';
import { UsageError } from './args.js';
import { importCommand } from './import.js';
import { serveCommand } from './serve.js';
import { appVersion } from '../services/paths.js';

const HELP = `Usage: medfedpure <command> [options]

Commands:
  serve [--port N] [--data-dir D]        start the browser host and print its URL
  import <file|dir|DICOMDIR>... [--data-dir D]
                                         import DICOM into the study store
  audit verify [--data-dir D]            check the audit log's hash chain (exit 0 only when intact)
  audit list [--limit N] [--data-dir D]  show recent audit events
  bench train ...                        native-models training benchmark
  dataset ...                            dataset tools (native-models)
  scan <file|dir|series-uid>... [--json] detect → adaptive purify → classify; one row per image
  calibrate --data DIR [--fpr 0.05]      detector threshold on clean images the MAE never saw
  bench latency [--json] [--runs N]      inference latency per stage, batch 1 and 16, vs purify-everything
  bench robustness --data DIR|synthetic  attacks (FGSM, PGD, adaptive PGD-EOT, BPDA, detector-aware) x defences;
                  [--split test|all] [--attack ...] [--eps 1/255,2/255] [--limit N] [--json]  resumable report folder
  train classifier|mae|diffusion --data DIR ...
                                         train a model and write its artifact + model card

Every command takes --json (machine-readable output) and --help.
Data directory: --data-dir, else $MEDFEDPURE_DATA_DIR, else the per-user data directory.`;

type Command = (argv: string[]) => Promise<number>;

/** Loads a command another part of the repository provides, with a clear message when it is not there. */
export function pluggable(label: string, relativeModule: string, exportName: string): Command {
  return async (argv) => {
    const url = new URL(relativeModule, import.meta.url).href;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_LOAD_URL') && String((err as Error).message).includes(relativeModule.replace(/^(\.\.\/)+/, '').replace(/\.js$/, ''))) {
        process.stderr.write(`medfedpure: "${label}" is not available in this build (${relativeModule.replace(/^(\.\.\/)+/, '')} not found)\n`);
        return 2;
      }
      throw err;
    }
    const fn = mod[exportName];
    if (typeof fn !== 'function') {
      process.stderr.write(`medfedpure: "${label}": ${exportName} is not exported by ${relativeModule}\n`);
      return 2;
    }
    const status: unknown = await (fn as (a: string[]) => unknown)(argv);
    return typeof status === 'number' ? status : 0;
  };
}

const benchTrain = pluggable('bench train', '../../../native-models/src/lab/bench/train-bench.js', 'benchTrainCommand');
const dataset = pluggable('dataset', '../../../native-models/src/lab/data/cli.js', 'datasetCommand');
const scan = pluggable('scan', './scan.js', 'scanCommand');
const benchLatency = pluggable('bench latency', '../../../native-models/src/lab/bench/latency-bench.js', 'benchLatencyCommand');
const benchRobustness = pluggable('bench robustness', '../../../native-models/src/lab/bench/robustness-bench.js', 'benchRobustnessCommand');
const calibrate = pluggable('calibrate', '../../../native-models/src/lab/calibrate-cli.js', 'calibrateCommand');
const trainModel = pluggable('train', '../../../native-models/src/lab/recipes/cli.js', 'trainCommand');

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      case '--version':
      case 'version':
        process.stdout.write(`${appVersion()}\n`);
        return 0;
      case 'serve':
        return await serveCommand(rest);
      case 'import':
        return await importCommand(rest);
      case 'audit':
        return await auditCommand(rest);
      case 'bench':
        if (rest[0] === 'train') return await benchTrain(rest.slice(1));
        if (rest[0] === 'latency') return await benchLatency(rest.slice(1));
        if (rest[0] === 'robustness') return await benchRobustness(rest.slice(1));
        throw new UsageError(`unknown bench "${rest[0] ?? ''}" (available: train, latency, robustness)`);
      case 'dataset':
        return await dataset(rest);
      case 'scan':
        return await scan(rest);
      case 'calibrate':
        return await calibrate(rest);
      case 'train':
        return await trainModel(rest);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`medfedpure: ${err.message}\nRun "medfedpure --help" for usage.\n`);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`medfedpure: ${err instanceof Error ? err.message : String(err)}${typeof code === 'string' ? ` (${code})` : ''}\n`);
    return 1;
  }
}
