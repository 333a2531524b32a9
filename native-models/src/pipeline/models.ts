/**
 * The three models the pipeline runs, with their versions and SHA-256 hashes (reported in every result).
 *
 * - Trained artifacts: when `<modelsDir>/manifest.json` exists, each model comes from the project's model loader
 *   (native-models/src/models/, `loadModel(name)`, which verifies the SHA-256 and throws a typed
 *   ModelIntegrityError); the loader module is imported lazily so this file builds before it exists.
 * - Otherwise, seeded `init()` weights (untrained, `trained: false`, version `seeded-init-<seed>`): for development
 *   and tests only; every result says so. Their hash is the SHA-256 of the weights in the .mfpw format.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as classifier from '../nets/classifier.js';
import * as mae from '../nets/mae.js';
import * as unet from '../nets/unet.js';
import { encodeWeights } from '../weights-io.js';
import type { NamedWeights } from '../tensor.js';
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
}

export interface ModelBundle {
  classifier: LoadedModel<classifier.ClassifierConfig>;
  mae: LoadedModel<mae.MaeConfig>;
  unet: LoadedModel<unet.UnetConfig>;
  /** Folder of the artifacts (and of calibration.json). */
  dir: string;
}

/** native-models/models (next to the sources). */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));

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

type Loose = Record<string, unknown>;

/** Adapts what the project loader returns ({ weights, sha256, version, config | meta.config }) to LoadedModel. */
function adapt<C>(name: ModelName, got: unknown, fallbackConfig: C): LoadedModel<C> {
  const g = (got ?? {}) as Loose;
  const meta = (g.meta ?? {}) as Loose;
  const weights = g.weights as NamedWeights | undefined;
  if (!(weights instanceof Map)) throw new PipelineError('E_MODELS', `model loader returned no weights for ${name}`);
  const config = ((g.config ?? meta.config) as C | undefined) ?? fallbackConfig;
  const version = String(g.version ?? meta.version ?? 'unknown');
  const sha256 = String(g.sha256 ?? weightsSha256(weights));
  return { name, version, sha256, config: { ...fallbackConfig, ...config }, weights, trained: true };
}

export interface LoadOptions {
  modelsDir?: string;
  /** Seed for the untrained fallback. */
  seed?: number;
  /** Refuse the seeded fallback (production). */
  requireTrained?: boolean;
}

export async function loadModelBundle(opts: LoadOptions = {}): Promise<ModelBundle> {
  const dir = opts.modelsDir ?? DEFAULT_MODELS_DIR;
  if (!existsSync(join(dir, 'manifest.json'))) {
    if (opts.requireTrained) throw new PipelineError('E_MODELS', `no trained models: ${join(dir, 'manifest.json')} not found`);
    return seededBundle(opts.seed ?? 0, dir);
  }
  let loader: { loadModel?: (name: string, opts?: unknown) => Promise<unknown> };
  try {
    loader = (await import(new URL('../models/index.js', import.meta.url).href)) as typeof loader;
  } catch (e) {
    throw new PipelineError('E_MODELS', `models found in ${dir} but the model loader (native-models/src/models/index.ts) is missing: ${(e as Error).message}`, { cause: e });
  }
  if (typeof loader.loadModel !== 'function') throw new PipelineError('E_MODELS', 'native-models/src/models/index.ts does not export loadModel');
  try {
    const [c, m, u] = await Promise.all((['classifier', 'mae', 'unet'] as const).map((n) => loader.loadModel!(n, { dir })));
    return {
      classifier: adapt('classifier', c, classifier.CLASSIFIER_DEFAULT),
      mae: adapt('mae', m, mae.MAE_DEFAULT),
      unet: adapt('unet', u, unet.UNET_DEFAULT),
      dir,
    };
  } catch (e) {
    if (e instanceof PipelineError) throw e;
    const code = (e as { code?: unknown }).code;
    throw new PipelineError('E_MODELS', `could not load models from ${dir}: ${(e as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: e });
  }
}

export function modelInfo(b: ModelBundle): Array<{ name: ModelName; version: string; sha256: string; trained: boolean }> {
  return [b.classifier, b.mae, b.unet].map(({ name, version, sha256, trained }) => ({ name, version, sha256, trained }));
}
