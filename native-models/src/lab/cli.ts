/**
 * The research commands of `medfedpure` (training, benchmarks, dataset tools, calibration on a data folder).
 * bin/medfedpure.js adds them to the product's command table when native-models/src/lab is present; the product
 * (electron/, fl-agent/, inference/) never imports this folder. Each module is loaded on first use.
 */

/** Same shape as the product's CliCommand (electron/node/cli/commands.ts); declared here so lab imports no electron code. */
export interface LabCommand {
  name: string;
  usage: string[];
  run(argv: string[]): Promise<number>;
}

const status = (v: unknown): number => (typeof v === 'number' ? v : 0);

export const LAB_COMMANDS: LabCommand[] = [
  {
    name: 'calibrate',
    usage: ['calibrate --data DIR [--fpr 0.05]      detector threshold on clean images the MAE never saw'],
    run: async (argv) => status(await (await import('./calibrate-cli.js')).calibrateCommand(argv)),
  },
  {
    name: 'bench',
    usage: [
      'bench latency [--json] [--runs N]      inference latency per stage, batch 1 and 16, vs purify-everything',
      'bench robustness --data DIR|synthetic  attacks (FGSM, PGD, adaptive PGD-EOT, BPDA, detector-aware) x defences;',
      '                [--split test|all] [--attack ...] [--eps 1/255,2/255] [--limit N] [--json]  resumable report folder',
      'bench train ...                        native-models training benchmark (against torch where installed)',
      'bench detectors --data DIR [--eps 2/255,4/255] [--limit N]  attack-detector candidates: AUROC vs PGD-ℓ∞',
      'bench trust --data DIR|--synthetic     clean images called tumour, flagged, out of distribution, alerted on',
    ],
    run: async ([which, ...rest]) => {
      if (which === 'train') return status(await (await import('./bench/train-bench.js')).benchTrainCommand(rest));
      if (which === 'latency') return status(await (await import('./bench/latency-bench.js')).benchLatencyCommand(rest));
      if (which === 'robustness') return status(await (await import('./bench/robustness-bench.js')).benchRobustnessCommand(rest));
      if (which === 'detectors') return status(await (await import('./bench/detector-study.js')).benchDetectorsCommand(rest));
      if (which === 'trust') return status(await (await import('./bench/trust-bench.js')).benchTrustCommand(rest));
      process.stderr.write(`medfedpure: unknown bench "${which ?? ''}" (available: train, latency, robustness, detectors, trust)\n`);
      return 2;
    },
  },
  {
    name: 'dataset',
    usage: ['dataset split --data DIR               the near-duplicate group split and its counts'],
    run: async (argv) => status(await (await import('./data/cli.js')).datasetCommand(argv)),
  },
  {
    name: 'train',
    usage: [
      'train classifier|mae|diffusion --data DIR ...',
      '                                       train a model and write its artifact + model card',
    ],
    run: async (argv) => status(await (await import('./recipes/cli.js')).trainCommand(argv)),
  },
];
