/**
 * The shape every training recipe shares: what the CLI hands a recipe (data, seed, budget, run options) and what a
 * recipe hands back to be written as an artifact with its model card (weights, configs, metrics, notes, previews).
 */
import type { NamedWeights } from '../../core/tensor.js';
import type { TrainingData } from './common.js';

export type ModelName = 'classifier' | 'mae' | 'diffusion';
export const MODEL_NAMES: readonly ModelName[] = ['classifier', 'mae', 'diffusion'];

export interface RecipeRunOptions {
  data: TrainingData;
  size: number;
  seed: number;
  threads: number;
  /** Overrides of the recipe's own budget (one or both). */
  epochs?: number;
  steps?: number;
  resume: boolean;
  fresh: boolean;
  /** `--set key=value` overrides of numeric / boolean top-level recipe fields. */
  overrides?: Record<string, string>;
  progressBar: boolean;
  log: (msg: string) => void;
  /** Default <repo>/.cache/runs. */
  runsDir?: string;
  /** Stops training early (e.g. `--time-budget`): the trainer checkpoints and the recipe ships what it has. */
  signal?: AbortSignal;
}

export interface Preview {
  /** File name next to the artifact, e.g. "mae.recon.png". */
  file: string;
  png: Uint8Array;
  caption: string;
}

export interface RecipeOutcome {
  model: ModelName;
  weights: NamedWeights;
  /** The net's config (what `init`/`buildInference` take). */
  netConfig: Record<string, unknown>;
  /** Everything else that defines the run: optimiser, schedule, batch, augmentation, budget, seed. */
  recipe: Record<string, unknown>;
  /** Measured numbers; each key's meaning is in `metricNotes`. */
  metrics: Record<string, unknown>;
  metricNotes: string[];
  training: {
    steps: number;
    /** The recipe's planned number of steps; more than `steps` when a time budget stopped the run. */
    plannedSteps: number;
    epochs: number;
    /** Wall-clock seconds of training, summed over sessions when resumed. */
    seconds: number;
    resumedFrom: number | null;
    runDir: string;
    /** Which weights ship ("best by group-val accuracy at step N", "EMA after N steps", ...). */
    selected: string;
  };
  /** Method notes for the card (what the recipe does and why). */
  notes: string[];
  limitations: string[];
  previews: Preview[];
  /**
   * Set when the run did not use the data's group split (the classifier's `leakySplit` comparison run): the split's
   * name, printed instead of the group split's on the card and in the artifact.
   */
  leakySplitName?: string;
  /** Further card sections after Metrics (the classifier's split-run estimate and how its recipe was found). */
  sections?: { title: string; markdown: string }[];
}
