/**
 * The three models the pipeline runs, with their versions and SHA-256 hashes (reported in every result).
 *
 * - Trained artifacts: when `<modelsDir>/manifest.json` exists, each model comes from the project's model loader
 *   (native-models/src/inference/models/manifest.ts `loadModel(name)`, which verifies the SHA-256 and throws a typed
 *   ModelIntegrityError), with the config recorded in the manifest. All three must be there.
 * - Fail closed: a models folder without a valid manifest is refused (PipelineError E_MODELS saying why), whatever
 *   the scan mode. Seeded `init()` weights (untrained, `trained: false`, version `seeded-init-<seed>`) stand in only
 *   when the caller asks for them by name (`allowSeeded`, for development and tests); every result then says so.
 *   Their hash is the SHA-256 of the weights in the .mfpw format.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as classifier from '../nets/classifier.js';
import * as mae from '../nets/mae.js';
import * as unet from '../nets/unet.js';
import { encodeWeights } from '../../core/weights-io.js';
import type { NamedWeights } from '../../core/tensor.js';
import { loadModel as loadArtifact, type LoadedModel as ArtifactModel } from '../models/manifest.js';
import { PipelineError } from './errors.js';

export type ModelName = 'classifier' | 'mae' | 'unet';

export interface LoadedModel<C> {
  name: ModelName;
  version: string;
  sha256: string;
  config: C;
  weights: NamedWeights;
  /** False for seeded random weights (development only). */
  trained: boolean;
  /**
   * The manifest's training facts (absent for seeded models): the recipe, the data fingerprint it was fitted on, and
   * the figures it scored on its held-out test part (classifiers; null when the entry has none).
   */
  provenance?: { recipe: Record<string, unknown>; dataFingerprint: string | null; heldOut: HeldOutPerformance | null };
}

/** A classifier's figures on its held-out test part, as its manifest entry records them (shown to the reader). */
export interface HeldOutPerformance {
  /** The split the figures were measured on, e.g. "br35h-group-v1 (seed 42)". */
  split: string;
  count: number;
  accuracy: number;
  /** 95 % interval, resampling whole near-duplicate groups (null when the entry predates it). */
  accuracyCi95: [number, number] | null;
  sensitivity: number;
  specificity: number;
  /**
   * Set when the model was fitted on every group (no held-out part left): the figures above are then the mean over
   * the recipe's split runs (same recipe and budget, fitted on group-train + group-val, scored on group-test), one
   * per seed, and `accuracyCi95` is null (each seed has its own interval, here).
   */
  splitRuns?: { accuracyBySeed: Record<string, number>; accuracyCi95BySeed: Record<string, [number, number]> };
}

/**
 * The held-out figures of a manifest entry (`metrics.test`: count, accuracy, recallYes, recallNo and, where the
 * entry has it, accuracyCi95); for a model fitted on every group, its recipe's split-run estimate
 * (`metrics.groupTestEstimate`, marked by `splitRuns`); or null when they are absent or not well-formed: a missing
 * figure is shown as missing, never made up.
 */
export function heldOutPerformance(entry: { split?: unknown; metrics?: unknown }): HeldOutPerformance | null {
  const metrics = entry.metrics as { test?: unknown; groupTestEstimate?: unknown } | undefined;
  const t = metrics?.test as Record<string, unknown> | null | undefined;
  if (typeof entry.split !== 'string') return null;
  const rate = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
  const interval = (ci: unknown): ci is [number, number] => Array.isArray(ci) && ci.length === 2 && rate(ci[0]) && rate(ci[1]) && ci[0] <= ci[1];
  if (!t || typeof t !== 'object') return splitRunEstimate(entry.split, metrics?.groupTestEstimate, rate, interval);
  const ci = t.accuracyCi95;
  const ciOk = ci === undefined || interval(ci);
  if (!(Number.isInteger(t.count) && (t.count as number) > 0 && rate(t.accuracy) && rate(t.recallYes) && rate(t.recallNo) && ciOk)) return null;
  return {
    split: entry.split, count: t.count as number, accuracy: t.accuracy, accuracyCi95: Array.isArray(ci) ? [ci[0] as number, ci[1] as number] : null,
    sensitivity: t.recallYes, specificity: t.recallNo,
  };
}

/** `metrics.groupTestEstimate` of a model fitted on every group (lab/recipes/classifier.ts estimateMetrics), or null. */
function splitRunEstimate(split: string, e: unknown, rate: (v: unknown) => v is number, interval: (ci: unknown) => ci is [number, number]): HeldOutPerformance | null {
  if (!e || typeof e !== 'object') return null;
  const g = e as Record<string, unknown>;
  const by = g.bySeed as Record<string, Record<string, unknown>> | undefined;
  if (!(Number.isInteger(g.count) && (g.count as number) > 0 && rate(g.accuracy) && rate(g.recallYes) && rate(g.recallNo) && by && typeof by === 'object')) return null;
  const seeds = Object.keys(by);
  if (seeds.length === 0 || !seeds.every((k) => by[k] && rate(by[k].accuracy) && interval(by[k].accuracyCi95))) return null;
  return {
    split, count: g.count as number, accuracy: g.accuracy, accuracyCi95: null, sensitivity: g.recallYes, specificity: g.recallNo,
    splitRuns: {
      accuracyBySeed: Object.fromEntries(seeds.map((k) => [k, by[k].accuracy as number])),
      accuracyCi95BySeed: Object.fromEntries(seeds.map((k) => [k, by[k].accuracyCi95 as [number, number]])),
    },
  };
}

export interface ModelBundle {
  classifier: LoadedModel<classifier.ClassifierConfig>;
  mae: LoadedModel<mae.MaeConfig>;
  unet: LoadedModel<unet.UnetConfig>;
  /** Folder of the artifacts (and of calibration.json). */
  dir: string;
}

/** native-models/models (next to the sources). */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../../models', import.meta.url));

export function weightsSha256(w: NamedWeights): string {
  return createHash('sha256').update(encodeWeights(w)).digest('hex');
}

/** Seeded, untrained models with the default configurations. */
export function seededBundle(seed = 0, dir = DEFAULT_MODELS_DIR): ModelBundle {
  const mk = <C>(name: ModelName, config: C, weights: NamedWeights): LoadedModel<C> => ({
    name, config, weights, version: `seeded-init-${seed}`, sha256: weightsSha256(weights), trained: false,
  });
  return {
    classifier: mk('classifier', classifier.CLASSIFIER_DEFAULT, classifier.init(classifier.CLASSIFIER_DEFAULT, seed)),
    mae: mk('mae', mae.MAE_DEFAULT, mae.init(mae.MAE_DEFAULT, seed + 1)),
    unet: mk('unet', unet.UNET_DEFAULT, unet.init(unet.UNET_DEFAULT, seed + 2)),
    dir,
  };
}

/** The manifest name of each pipeline model (the diffusion UNet is trained as `medfedpure train diffusion`). */
export const MANIFEST_NAMES: Readonly<Record<ModelName, string>> = { classifier: 'classifier', mae: 'mae', unet: 'diffusion' };

/** A shipped model, sha256-checked by the project loader, with the config it was trained with. */
function fromArtifact<C>(name: ModelName, got: ArtifactModel, fallbackConfig: C): LoadedModel<C> {
  const config = { ...fallbackConfig, ...(got.entry.config as Partial<C>) };
  const provenance = { recipe: got.entry.recipe ?? {}, dataFingerprint: got.entry.data?.fingerprint ?? null, heldOut: heldOutPerformance(got.entry) };
  return { name, version: got.entry.version, sha256: got.entry.sha256, config, weights: got.weights, trained: true, provenance };
}

export interface LoadOptions {
  modelsDir?: string;
  /** Seed for the untrained fallback. */
  seed?: number;
  /** Kept for callers that state it; refusing the seeded fallback is the default. */
  requireTrained?: boolean;
  /**
   * Development and tests only: with no manifest in `modelsDir`, use seeded untrained models instead of refusing.
   * A manifest that is present but invalid is refused even then.
   */
  allowSeeded?: boolean;
}

/**
 * The three pipeline models from `modelsDir` (default native-models/models). Every model must be in its manifest and
 * pass its sha256 check: a missing or invalid manifest, or a partial or tampered set, is refused (E_MODELS), never
 * silently replaced by or mixed with untrained models. Only `allowSeeded` lets seeded models stand in for a missing
 * manifest.
 */
export async function loadModelBundle(opts: LoadOptions = {}): Promise<ModelBundle> {
  const dir = opts.modelsDir ?? DEFAULT_MODELS_DIR;
  if (!existsSync(join(dir, 'manifest.json'))) {
    if (opts.allowSeeded && !opts.requireTrained) return seededBundle(opts.seed ?? 0, dir);
    throw new PipelineError('E_MODELS', `refusing the models folder ${dir}: it has no manifest.json, so no weights can be checked against a sha256 (restore the manifest or retrain with "medfedpure train")`);
  }
  try {
    const [c, m, u] = await Promise.all((['classifier', 'mae', 'unet'] as const).map((n) => loadArtifact(MANIFEST_NAMES[n], { dir })));
    return {
      classifier: fromArtifact('classifier', c, classifier.CLASSIFIER_DEFAULT),
      mae: fromArtifact('mae', m, mae.MAE_DEFAULT),
      unet: fromArtifact('unet', u, unet.UNET_DEFAULT),
      dir,
    };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new PipelineError('E_MODELS', `could not load models from ${dir}: ${(e as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: e });
  }
}

export function modelInfo(b: ModelBundle): Array<{ name: ModelName; version: string; sha256: string; trained: boolean }> {
  return [b.classifier, b.mae, b.unet].map(({ name, version, sha256, trained }) => ({ name, version, sha256, trained }));
}
