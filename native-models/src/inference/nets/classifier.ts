/**
 * The tumour classifier: a compact residual CNN on [N, 1, S, S] images in [0, 1] (S = 64 by default; 128 and 224
 * build too), 2 logits (0 = no tumour, 1 = tumour). Parameters under `body.*` are shared in federated learning;
 * `head.*` is the site-local head that never leaves the site.
 *
 *   body.stem    conv3×3 s2 → norm → ReLU                            S/2,  C
 *   body.block1  residual (conv3×3 s2, norm, ReLU, conv3×3, norm) + 1×1 s2 shortcut → ReLU   S/4,  2C
 *   body.block2  same                                                S/8,  4C
 *   body.block3  same                                                S/16, 8C
 *   global average pool → [dropout, training only] → head.fc (8C → 2)
 *
 * norm is GroupNorm(groups) (scopes gn, gn1, gn2) or BatchNorm (scopes bn, bn1, bn2: weight, bias and the state
 * running_mean, running_var; FedBN keeps them site-local by the `(gn|bn)\d*.` rule). With BatchNorm the training
 * graph normalises with batch statistics and outputs the running statistics' new values as `state.<name>`
 * (runStep hands them to the trainer, which stores them in the weights); inference, evaluation and attack graphs
 * use the running statistics. Dropout (training graph only) multiplies the pooled features by a mask fed as input
 * 'dropmask' (0 or 1/(1 − p), drawn from the trainer's per-step seed so resume stays exact).
 *
 * One definition (`forward`) gives the inference graph, the training graph (softmax cross-entropy + backward) and
 * the input-gradient graph used by attacks (cross-entropy against an attacker-chosen target distribution).
 */
import { GraphBuilder, stateName, type Value } from '../../core/graph/builder.js';
import { batchNorm, conv2d, groupNorm, linear, type StateUpdate } from '../../core/graph/layers.js';
import { softmaxCrossEntropy } from '../../core/graph/losses.js';
import { backward } from '../../core/autodiff/backward.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';
import type { StepFn } from '../../core/train/types.js';
import type { SessionOptions } from '../../core/runtime/session.js';
import { GraphRunner, InputError, checkWeights, oneHot, runStep } from './common.js';
import { Rng, deriveSeed } from '../../core/rng.js';
import { initWeights } from './init.js';

export interface ClassifierConfig {
  /** Input side length in pixels (square, grayscale). */
  size: number;
  /** Stem width C; stages use C, 2C, 4C, 8C. */
  width: number;
  /** GroupNorm groups (must divide every width; unused with BatchNorm). */
  groups: number;
  classes: number;
  /** Normalisation layers: 'group' (GroupNorm, the default: manifests without the field) or 'batch' (BatchNorm). */
  norm?: 'group' | 'batch';
  /** Dropout probability on the pooled features before the head, training graph only (default 0). */
  dropout?: number;
}

/** How a graph runs the net: training (batch statistics, state updates, dropout mask) or evaluation (default). */
export interface ForwardMode {
  training?: boolean;
  /** Training mode: receives the BatchNorm running-statistics updates. */
  updates?: StateUpdate[];
  /** Training mode with dropout: the mask input [N, 8C] (values 0 or 1/(1 − p)). */
  dropMask?: Value;
}

const isBatchNorm = (cfg: ClassifierConfig): boolean => cfg.norm === 'batch';

export const CLASSIFIER_DEFAULT: ClassifierConfig = { size: 64, width: 16, groups: 4, classes: 2 };

type Norm = (h: Value, suffix: string) => Value;

function resBlock(b: GraphBuilder, x: Value, name: string, outC: number, norm: Norm): Value {
  return b.scope(name, () => {
    let h = b.relu(norm(conv2d(b, x, 'conv1', outC, 3, { stride: 2, bias: false }), '1'));
    h = norm(conv2d(b, h, 'conv2', outC, 3, { bias: false }), '2');
    const s = conv2d(b, x, 'shortcut', outC, 1, { stride: 2, pad: 0 });
    return b.relu(b.add(h, s));
  });
}

/** Logits [N, classes] for images x [N, 1, S, S]. */
export function classifierForward(b: GraphBuilder, cfg: ClassifierConfig, x: Value, mode: ForwardMode = {}): Value {
  if (x.shape.length !== 4 || x.shape[1] !== 1 || x.shape[2] !== cfg.size || x.shape[3] !== cfg.size) {
    b.fail('Classifier', `expects input [N, 1, ${cfg.size}, ${cfg.size}], got [${x.shape.join(', ')}]`);
  }
  if (cfg.norm !== undefined && cfg.norm !== 'group' && cfg.norm !== 'batch') b.fail('Classifier', `norm must be 'group' or 'batch', got ${String(cfg.norm)}`);
  const c = cfg.width;
  const training = mode.training ?? false;
  const norm: Norm = isBatchNorm(cfg)
    ? (h, suffix) => batchNorm(b, h, `bn${suffix}`, { training, updates: mode.updates })
    : (h, suffix) => groupNorm(b, h, `gn${suffix}`, cfg.groups);
  const feat = b.scope('body', () => {
    let h = b.scope('stem', () => b.relu(norm(conv2d(b, x, 'conv', c, 3, { stride: 2, bias: false }), '')));
    h = resBlock(b, h, 'block1', 2 * c, norm);
    h = resBlock(b, h, 'block2', 4 * c, norm);
    h = resBlock(b, h, 'block3', 8 * c, norm);
    return b.flatten(b.globalAveragePool(h), 1);
  });
  const dropped = training && mode.dropMask ? b.mul(feat, mode.dropMask) : feat;
  return b.scope('head', () => linear(b, dropped, 'fc', cfg.classes));
}

/** Dropout mask [n, 8·width] for the training graph: each value 0 with probability p, else 1/(1 − p). */
export function dropoutMask(cfg: ClassifierConfig, n: number, seed: number): TensorF32 {
  const p = cfg.dropout ?? 0, f = 8 * cfg.width;
  const rng = new Rng(deriveSeed(seed, DROPOUT_STREAM));
  const data = new Float32Array(n * f);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < p ? 0 : 1 / (1 - p);
  return { shape: [n, f], data };
}

const DROPOUT_STREAM = 0x64726f70; // 'drop'

function parametersOf(cfg: ClassifierConfig): GraphBuilder {
  const b = new GraphBuilder('classifier');
  classifierForward(b, cfg, b.input('x', [1, 1, cfg.size, cfg.size]));
  return b;
}

/** Seeded initial weights (He for convs, Xavier for the head), in canonical order. */
export function init(cfg: ClassifierConfig = CLASSIFIER_DEFAULT, seed = 0): NamedWeights {
  return initWeights(parametersOf(cfg).paramList(), seed);
}

/** Inference model: input 'x' [batch, 1, S, S] → 'logits', 'probs'. With weights they are baked in as initializers. */
export function buildInference(cfg: ClassifierConfig = CLASSIFIER_DEFAULT, weights?: NamedWeights, batch = 1): Uint8Array {
  const b = new GraphBuilder('classifier_inference');
  const logits = classifierForward(b, cfg, b.input('x', [batch, 1, cfg.size, cfg.size]));
  b.output(logits, 'logits');
  b.output(b.softmax(logits, 1), 'probs');
  if (weights) checkWeights(b, weights);
  return b.serialize(weights ? { paramsAs: 'initializers', weights } : { paramsAs: 'inputs' });
}

/**
 * Training graph: inputs x, target [N, K] (and 'dropmask' [N, 8C] when cfg.dropout > 0) → 'loss', 'logits',
 * 'grad.<param>' for every trainable parameter and, with BatchNorm, 'state.<name>' for every running statistic.
 * `{ training: false }` builds the same graph in evaluation mode (running statistics, no dropout, no state outputs).
 */
export function buildTrainGraph(cfg: ClassifierConfig, batch: number, opts: { training?: boolean } = {}): GraphBuilder {
  const b = new GraphBuilder('classifier_train');
  const training = opts.training ?? true;
  const x = b.input('x', [batch, 1, cfg.size, cfg.size]);
  const target = b.input('target', [batch, cfg.classes]);
  const updates: StateUpdate[] = [];
  const dropMask = training && (cfg.dropout ?? 0) > 0 ? b.input('dropmask', [batch, 8 * cfg.width]) : undefined;
  const logits = classifierForward(b, cfg, x, { training, updates, dropMask });
  const loss = softmaxCrossEntropy(b, logits, target);
  b.output(loss, 'loss');
  b.output(logits, 'logits');
  for (const u of updates) b.output(u.value, stateName(u.name));
  backward(b, loss, b.trainableParams());
  return b;
}

/** Extra feeds the training graph needs besides x and target (the dropout mask), drawn from the step seed. */
export function trainFeeds(cfg: ClassifierConfig, n: number, seed: number): Record<string, TensorF32> {
  return (cfg.dropout ?? 0) > 0 ? { dropmask: dropoutMask(cfg, n, seed) } : {};
}

/** Input-gradient graph: 'loss' and 'grad.x' (CE against the given target distribution). */
export function buildInputGradGraph(cfg: ClassifierConfig, batch: number): GraphBuilder {
  const b = new GraphBuilder('classifier_input_grad');
  const x = b.input('x', [batch, 1, cfg.size, cfg.size]);
  const target = b.input('target', [batch, cfg.classes]);
  const logits = classifierForward(b, cfg, x);
  const loss = softmaxCrossEntropy(b, logits, target);
  b.output(loss, 'loss');
  b.output(logits, 'logits');
  backward(b, loss, [x]);
  return b;
}

function checkImages(cfg: ClassifierConfig, x: TensorF32): number {
  const [n, c, h, w] = x.shape;
  if (x.shape.length !== 4 || c !== 1 || h !== cfg.size || w !== cfg.size || n < 1) {
    throw new InputError(`classifier expects images [N, 1, ${cfg.size}, ${cfg.size}], got [${x.shape.join(', ')}]`);
  }
  return n;
}

export interface ClassifierStepOptions extends SessionOptions {}

/** StepFn: softmax cross-entropy on (x, y); reports accuracy on the batch as a metric. */
export function makeTrainStep(cfg: ClassifierConfig = CLASSIFIER_DEFAULT, opts: ClassifierStepOptions = {}): StepFn & { release(): Promise<void> } {
  const runner = new GraphRunner(opts);
  const step = async (weights: NamedWeights, batch: { x: TensorF32; y?: Int32Array; seed?: number }) => {
    const n = checkImages(cfg, batch.x);
    if (!batch.y || batch.y.length !== n) throw new InputError(`classifier training needs ${n} labels, got ${batch.y?.length ?? 0}`);
    const g = await runner.get(`train:${n}`, () => buildTrainGraph(cfg, n));
    const { result, extras } = await runStep(g, weights, { x: batch.x, target: oneHot(batch.y, cfg.classes), ...trainFeeds(cfg, n, batch.seed ?? 0) }, ['logits']);
    const logits = extras.get('logits')!.data;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < cfg.classes; k++) if (logits[i * cfg.classes + k] > logits[i * cfg.classes + best]) best = k;
      if (best === batch.y[i]) correct++;
    }
    result.metrics = { accuracy: correct / n };
    return result;
  };
  return Object.assign(step, { release: () => runner.release() });
}

/**
 * dL/dx for attacks, where L = cross-entropy of the classifier's softmax against `target` [N, K], a distribution
 * the attacker chooses (one-hot of the true label to ascend, of a target label to descend, or anything else).
 */
export function makeInputGradient(cfg: ClassifierConfig = CLASSIFIER_DEFAULT, opts: SessionOptions = {}) {
  const runner = new GraphRunner(opts);
  const fn = async (weights: NamedWeights, x: TensorF32, target: TensorF32): Promise<{ loss: number; grad: TensorF32; logits: TensorF32 }> => {
    const n = checkImages(cfg, x);
    if (target.shape.length !== 2 || target.shape[0] !== n || target.shape[1] !== cfg.classes) {
      throw new InputError(`target must be [${n}, ${cfg.classes}], got [${target.shape.join(', ')}]`);
    }
    const g = await runner.get(`xgrad:${n}`, () => buildInputGradGraph(cfg, n));
    checkWeights(g.builder, weights);
    const out = await g.session.run(new Map([...weights, ['x', x], ['target', target]]), ['loss', 'grad.x', 'logits']);
    return { loss: out.get('loss')!.data[0], grad: out.get('grad.x')!, logits: out.get('logits')! };
  };
  return Object.assign(fn, { release: () => runner.release() });
}

/** Number of trainable scalar parameters, by prefix ('body.' / 'head.'); BatchNorm's running statistics are state, not counted. */
export function parameterCount(cfg: ClassifierConfig = CLASSIFIER_DEFAULT): { body: number; head: number; total: number } {
  let body = 0, head = 0;
  for (const { value, trainable } of parametersOf(cfg).paramList()) {
    if (!trainable) continue;
    const n = value.shape.reduce((p, q) => p * q, 1);
    if (value.name.startsWith('body.')) body += n;
    else head += n;
  }
  return { body, head, total: body + head };
}
