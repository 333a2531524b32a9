/**
 * `medfedpure train classifier|mae|diffusion` — run a training recipe and ship the artifact with its model card.
 *
 *   medfedpure train <model> --data DIR|synthetic [--size 64] [--epochs N | --steps N] [--seed S]
 *                            [--resume | --fresh] [--time-budget MINUTES] [--set KEY=VALUE]... [--out DIR] [--threads N]
 *                            [--json] [--no-progress]
 *
 * Checkpoints go to `.cache/runs/<model>-<hash of the run config>/`; `--resume` continues the same command exactly
 * where it stopped, `--fresh` discards old checkpoints. `--set` overrides a numeric or boolean recipe field (e.g.
 * `--set mixupAlpha=0.4`); it is part of the run config and of the command printed on the model card. Artifacts (`<model>.weights`, `<model>.MODEL_CARD.md`,
 * previews, manifest.json entry) go to `--out`, by default native-models/models/ — or `.cache/models-synthetic/`
 * for `--data synthetic`, so stand-in runs never replace the shipped models.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { REPO_ROOT, RecipeError, loadTrainingData } from './common.js';
import { MODEL_NAMES, type ModelName, type RecipeOutcome, type RecipeRunOptions } from './types.js';
import { DEFAULT_MODELS_DIR } from '../../inference/models/manifest.js';
import { writeArtifact } from './card.js';

export const TRAIN_USAGE = `usage: medfedpure train classifier|mae|diffusion --data DIR|synthetic [--size 64] [--epochs N | --steps N] [--seed S]
                        [--resume | --fresh] [--time-budget MINUTES] [--set KEY=VALUE]... [--out DIR] [--threads N] [--json] [--no-progress]`;

export interface TrainArgs {
  model: ModelName;
  data: string;
  size: number;
  epochs?: number;
  steps?: number;
  seed: number;
  resume: boolean;
  fresh: boolean;
  out?: string;
  threads: number;
  json: boolean;
  progress: boolean;
  overrides: Record<string, string>;
  /** `--time-budget`: stop training after this many minutes of this session (checkpoint, then ship). */
  timeBudgetMinutes?: number;
}

export function parseTrainArgs(argv: string[]): TrainArgs {
  const [model, ...rest] = argv;
  const bad = (m: string) => new RecipeError('RECIPE_BAD_ARGUMENT', m);
  if (!MODEL_NAMES.includes(model as ModelName)) throw bad(`unknown model "${model ?? ''}" (choose ${MODEL_NAMES.join(', ')})`);
  const a: Partial<TrainArgs> & { model: ModelName } = { model: model as ModelName, size: 64, seed: 0, resume: false, fresh: false, threads: 2, json: false, progress: true, overrides: {} };
  for (let i = 0; i < rest.length; i++) {
    const k = rest[i];
    const val = (): string => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw bad(`${k} needs a value`);
      return v;
    };
    const int = (lo: number, hi: number): number => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < lo || v > hi) throw bad(`${k} must be an integer in [${lo}, ${hi}]`);
      return v;
    };
    switch (k) {
      case '--data': a.data = val(); break;
      case '--size': a.size = int(16, 256); break;
      case '--epochs': a.epochs = int(1, 100_000); break;
      case '--steps': a.steps = int(1, 10_000_000); break;
      case '--seed': a.seed = int(0, 2 ** 31 - 1); break;
      case '--resume': a.resume = true; break;
      case '--fresh': a.fresh = true; break;
      case '--out': a.out = val(); break;
      case '--threads': a.threads = int(1, 256); break;
      case '--json': a.json = true; break;
      case '--no-progress': a.progress = false; break;
      case '--time-budget': a.timeBudgetMinutes = int(1, 100_000); break;
      case '--set': {
        const kv = val();
        const eq = kv.indexOf('=');
        if (eq <= 0) throw bad(`--set needs KEY=VALUE, got "${kv}"`);
        a.overrides![kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      default: throw bad(`unknown option ${k}`);
    }
  }
  if (!a.data) throw bad('--data DIR (a yes/no folder) or --data synthetic is required');
  if (a.resume && a.fresh) throw bad('--resume and --fresh exclude each other');
  if (Number(a.overrides?.studyHoldout ?? 0) > 0 && !a.out) throw bad('a recipe study (--set studyHoldout=…) is not a product model: name a folder for it with --out');
  if (a.overrides?.leakySplit === 'true' && !a.out) throw bad('the leaky random-80-20 comparison (--set leakySplit=true) is not a product model: name a folder for it with --out');
  return a as TrainArgs;
}

async function runRecipe(model: ModelName, o: RecipeRunOptions): Promise<RecipeOutcome> {
  switch (model) {
    case 'classifier': return (await import('./classifier.js')).runClassifierRecipe(o);
    case 'mae': return (await import('./mae.js')).runMaeRecipe(o);
    case 'diffusion': return (await import('./diffusion.js')).runDiffusionRecipe(o);
  }
}

/** The command line minus the flags that only steer this session (resume, fresh, time budget). */
function withoutSessionFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--resume' || argv[i] === '--fresh') continue;
    if (argv[i] === '--time-budget') { i++; continue; }
    out.push(argv[i]);
  }
  return out;
}

/** Entry point for the CLI; returns the exit status (2 = usage error). */
export async function trainCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${TRAIN_USAGE}\n`);
    return 0;
  }
  let a: TrainArgs;
  try {
    a = parseTrainArgs(argv);
  } catch (e) {
    process.stderr.write(`train: ${(e as Error).message}\n${TRAIN_USAGE}\n`);
    return 2;
  }
  const log = (m: string) => process.stderr.write(`${m}\n`);
  try {
    const dataDir = a.data === 'synthetic' ? 'synthetic' : resolve(a.data);
    const data = await loadTrainingData(dataDir, a.size, log);
    log(data.description);
    const outcome = await runRecipe(a.model, {
      data, size: a.size, seed: a.seed, threads: a.threads, epochs: a.epochs, steps: a.steps,
      resume: a.resume, fresh: a.fresh, overrides: a.overrides, progressBar: a.progress, log,
      signal: a.timeBudgetMinutes !== undefined ? AbortSignal.timeout(a.timeBudgetMinutes * 60_000) : undefined,
    });
    if (outcome.training.steps < outcome.training.plannedSteps) {
      outcome.limitations.push(
        `Stopped by the time budget after ${outcome.training.steps} of ${outcome.training.plannedSteps} planned steps: these are not the recipe's final weights. ` +
          'Running the same command with `--resume` continues from the last checkpoint and ships the finished model.',
      );
    }
    const out = a.out ? (isAbsolute(a.out) ? a.out : resolve(a.out)) : data.synthetic ? join(REPO_ROOT, '.cache', 'models-synthetic') : DEFAULT_MODELS_DIR;
    const command = `medfedpure train ${withoutSessionFlags(argv).join(' ')}`;
    const w = await writeArtifact(out, outcome, data, command, a.threads);
    const summary = { model: a.model, weights: w.weightsPath, card: w.cardPath, sha256: w.entry.sha256, bytes: w.entry.bytes, training: outcome.training, metrics: w.entry.metrics, caveat: data.caveat };
    if (a.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      process.stdout.write(`${a.model}: wrote ${w.weightsPath} (sha256 ${w.entry.sha256.slice(0, 16)}…, ${w.entry.bytes} bytes) and ${w.cardPath}\n`);
      process.stdout.write(`training ${outcome.training.seconds} s, ${outcome.training.steps} steps; ${outcome.training.selected}\n`);
      process.stdout.write(`metrics${data.caveat ? ` (${data.caveat})` : ''}: ${JSON.stringify(w.entry.metrics)}\n`);
    }
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stderr.write(`train ${a.model}: ${err.code ? `[${err.code}] ` : ''}${err.message}\n`);
    return err instanceof RecipeError && err.code === 'RECIPE_BAD_ARGUMENT' ? 2 : 1;
  }
}
