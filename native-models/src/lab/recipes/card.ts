/**
 * Writes a trained model as a shipped artifact: the weights file (weights-io format, training facts in its meta),
 * preview images, a MODEL_CARD.md and the model's entry in manifest.json. The card opens with its current figures
 * (sha256, metrics with the command that produced them, previews), then data and licence, split, recipe and
 * limitations, and ends with the training log (time, hardware, checkpoints, validation curve).
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { saveWeights, writeFileAtomic } from '../../core/weights-io.js';
import type { RecipeOutcome } from './types.js';
import type { TrainingData } from './common.js';
import { updateManifest, type ManifestEntry } from '../../inference/models/manifest.js';

export const DATA_LICENCE_NOTE = 'Br35H, licence unknown, research benchmarking only';
export const ARTIFACT_VERSION = '1.0.0';

export function hardwareLine(threads: number): string {
  let ort = '?';
  try {
    ort = JSON.parse(readFileSync(new URL('../../../../node_modules/onnxruntime-node/package.json', import.meta.url), 'utf8')).version;
  } catch { /* not resolvable from here */ }
  return `${cpus().length}-core VM (${cpus()[0]?.model?.trim() ?? 'unknown CPU'}), Node ${process.versions.node}, onnxruntime-node ${ort} CPU EP, ${threads} intra-op threads`;
}

export interface CardInput {
  outcome: RecipeOutcome;
  data: TrainingData;
  file: string;
  sha256: string;
  bytes: number;
  trainedAt: string;
  command: string;
  hardware: string;
}

const TITLES = { classifier: 'Tumour classifier (residual CNN)', mae: 'Masked autoencoder (ViT, detector)', diffusion: 'DDPM ε-prediction UNet (purifier)' };

function duration(s: number): string {
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : m > 0 ? `${m} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
}

/** Pretty JSON with arrays of numbers kept on one line ([[166, 4], [3, 129]] rather than 8 lines). */
function indentJson(v: unknown): string {
  let text = JSON.stringify(v, null, 2);
  const flat = /\[\s*((?:-?[\d.eE+-]+|\[[^\[\]\n]*\])(?:,\s*(?:-?[\d.eE+-]+|\[[^\[\]\n]*\]))*)\s*\]/g;
  for (let prev = ''; prev !== text;) {
    prev = text;
    text = text.replace(flat, (_m, inner: string) => `[${inner.replace(/,\s*/g, ', ')}]`);
  }
  return ['```json', text, '```'].join('\n');
}

export function renderModelCard(c: CardInput): string {
  const o = c.outcome;
  const licence = c.data.synthetic ? 'synthetic stand-in built from Debian mricron-data / mricron-doc (Colin27 template, simulated lesion masks)' : DATA_LICENCE_NOTE;
  const { valCurve, ...metricsShown } = o.metrics as Record<string, unknown> & { valCurve?: unknown };
  const lines = [
    `# ${TITLES[o.model]} — model card`,
    '',
    `Artifact \`${c.file}\`, version ${ARTIFACT_VERSION}, written ${c.trainedAt}.`,
    '',
    '| | |',
    '|---|---|',
    `| sha256 | \`${c.sha256}\` |`,
    `| size | ${c.bytes.toLocaleString('en-US')} bytes |`,
    `| format | medfedpure weights (weights-io: float32, JSON header, SHA-256 trailer) |`,
    `| loading | \`loadModel('${o.model}')\` (native-models/src/inference/models/manifest.ts) checks this sha256 against manifest.json and refuses a mismatch (ModelIntegrityError) |`,
    ...(c.data.caveat ? [`| **caveat** | **${c.data.caveat}** — every number below carries it |`] : []),
    '',
    '## Metrics',
    '',
    `Produced by: \`${c.command}\``,
    '',
    ...o.metricNotes.map((n) => `- ${n}`),
    ...(c.data.caveat ? [`- **${c.data.caveat}.**`] : []),
    '',
    indentJson(metricsShown),
    '',
    ...(o.sections ?? []).flatMap((sec) => [`## ${sec.title}`, '', sec.markdown.trim(), '']),
    ...(o.previews.length ? ['## Previews', '', ...o.previews.flatMap((p) => [`![${p.file}](${p.file})`, '', p.caption, ''])] : []),
    '## Data',
    '',
    ...c.data.description.split('\n').map((l) => `- ${l}`),
    ...(o.leakySplitName ? [`- **This run does not use the group split above: it uses \`${o.leakySplitName}\` (see Split).**`] : []),
    `- Licence / terms: ${licence}.`,
    '',
    '## Split',
    '',
    ...(o.leakySplitName
      ? [`\`${o.leakySplitName}\`: **LEAKY, not a product model.** The paper's random 80/20 split by file: copies of one slice land on`,
        'both sides, so test accuracy is inflated. It is here only to compare with the paper; `testByTwin` gives the test',
        'figure separately for images with a near-duplicate among the fitted images and for slices the model never saw.']
      : [`\`${c.data.splitName}\`: whole near-duplicate groups never cross parts${c.data.synthetic ? ' (groups = slice blocks / lesion-mask cells of the stand-in)' : ' (Br35H holds ~540 distinct slices among ~2,600 files)'}.`,
        ...groupSplitUse(o.recipe)]),
    '',
    '## Recipe',
    '',
    ...o.notes.map((n) => `- ${n}`),
    '',
    '<details><summary>Full recipe and net config</summary>',
    '',
    indentJson({ net: o.netConfig, recipe: o.recipe }),
    '',
    '</details>',
    '',
    '## Limitations',
    '',
    ...o.limitations.map((l) => `- ${l}`),
    '- Research prototype for benchmarking adversarial defences; not a medical device and not for clinical use.',
    '',
    '## Training',
    '',
    `- Time: ${duration(o.training.seconds)} wall clock (${o.training.seconds} s${o.training.resumedFrom !== null ? `, resumed from step ${o.training.resumedFrom}` : ''}), ${o.training.steps} steps, ${o.training.epochs} epochs.`,
    `- Hardware: ${c.hardware}. The machine was shared with other jobs, so times are indicative.`,
    `- Shipped weights: ${o.training.selected}.`,
    `- Checkpoints: \`${o.training.runDir.replace(/^.*\/(\.cache\/runs\/)/, '$1')}\` (git-ignored; resume with the same command plus \`--resume\`).`,
    '',
    ...(valCurve ? ['<details><summary>Validation curve</summary>', '', indentJson(valCurve), '', '</details>', ''] : []),
  ];
  return lines.join('\n');
}

export interface WrittenArtifact {
  weightsPath: string;
  cardPath: string;
  entry: ManifestEntry;
}

/** Write weights, previews, card and manifest entry for a finished recipe into `outDir`. */
export async function writeArtifact(outDir: string, outcome: RecipeOutcome, data: TrainingData, command: string, threads: number): Promise<WrittenArtifact> {
  await mkdir(outDir, { recursive: true });
  const file = `${outcome.model}.weights`;
  const trainedAt = new Date().toISOString();
  const { sha256, bytes } = await saveWeights(join(outDir, file), outcome.weights, {
    kind: 'medfedpure-model', model: outcome.model, version: ARTIFACT_VERSION, config: outcome.netConfig, trainedAt,
    split: outcome.leakySplitName ?? data.splitName, dataFingerprint: data.ds.meta.fingerprint, ...(data.caveat ? { caveat: data.caveat } : {}),
  });
  for (const p of outcome.previews) await writeFileAtomic(join(outDir, p.file), p.png);
  const card = `${outcome.model}.MODEL_CARD.md`;
  const hardware = hardwareLine(threads);
  await writeFileAtomic(join(outDir, card), Buffer.from(renderModelCard({ outcome, data, file, sha256, bytes, trainedAt, command, hardware }), 'utf8'));
  const { valCurve: _drop, ...metrics } = outcome.metrics as Record<string, unknown> & { valCurve?: unknown };
  const entry: ManifestEntry = {
    version: ARTIFACT_VERSION, file, sha256, bytes, config: outcome.netConfig, trainedAt, split: outcome.leakySplitName ?? data.splitName, metrics,
    data: { source: data.ds.meta.source, fingerprint: data.ds.meta.fingerprint, caveat: data.caveat },
    recipe: outcome.recipe,
    training: { ...outcome.training, runDir: outcome.training.runDir.replace(/^.*\/(\.cache\/runs\/)/, '$1'), hardware, command },
    card,
  };
  await updateManifest(outDir, outcome.model, entry);
  return { weightsPath: join(outDir, file), cardPath: join(outDir, card), entry };
}

/** How a group-split run used the parts: recipe study, train + val fit, calibration holdout or plain train fit. */
function groupSplitUse(recipe: Record<string, unknown>): string[] {
  return Number(recipe.studyHoldout ?? 0) > 0
    ? [`**Recipe study, not a product model.** Fitting uses group-train minus a holdout of ${String(recipe.studyHoldoutGroups)} whole groups (${String(recipe.studyHoldoutImages)} images);`,
      'model selection and the "val" figures use group-val + that holdout; group-test is not read.']
    : recipe.fitAllGroups === true
    ? ['**Shipped model: fitting uses every labelled group** (group-train + group-val + group-test) with the fixed budget of the',
      'split runs and no selection; nothing is held out, so its accuracy estimate is the split runs\' group-test figures (per seed, below).']
    : recipe.includeVal === true
    ? ['Fitting uses group-train + group-val with a fixed budget and no selection; group-test is evaluated once, after training,',
      'and nothing in this run was tuned on it (how the recipe itself was chosen is said below, where the card has that section).']
    : Number(recipe.calibrationHoldout ?? 0) > 0
      ? [`Fitting uses group-train minus its calibration holdout (${String(recipe.calibrationHoldoutGroups)} whole groups, ${String(recipe.calibrationHoldoutImages)} images, kept unseen for the`,
        'detector threshold); model selection uses group-val only; group-test is evaluated once, after the weights were chosen,',
        'and was never used to tune anything (recipe, budget or selection).']
      : ['Fitting uses group-train only; model selection uses group-val only; group-test is evaluated once, after the weights',
        'were chosen, and was never used to tune anything (recipe, budget or selection).'];
}
