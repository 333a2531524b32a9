/**
 * The differentiable "purify then classify" graph the adaptive attacks differentiate:
 *
 *   x (pixels) → x_{t*} = √ᾱ_{t*}(2x − 1) + √(1 − ᾱ_{t*})·ε  → N DDIM steps (η = 0, the UNet shared by every step)
 *     → x̂0 → p = (x̂0 + 1)/2 → clip(p, 0, 1) = relu(p) − relu(p − 1) → classifier logits
 *     → L = Σₙ CE(logitsₙ, targetₙ)   (a *sum* over rows, so row n's gradient is dLₙ/dxₙ, unscaled)
 *
 * It is the purifier of pipeline/ddim.ts (including its final clip to [0, 1]) followed by the classifier, with the
 * timesteps and the DDIM coefficients fed as per-row inputs instead of constants (nets/unet.ts `ddimChain` bakes
 * them in): one session then serves every t* with the same number of steps, which matters because the adaptive
 * pipeline picks a different t* for almost every image. Rows are (image, EOT noise) pairs.
 *
 * Weights are baked in as initializers (UNet under `unet.`, classifier under `clf.`). One session per (steps, rows).
 */
import { GraphBuilder } from '../../core/graph/builder.js';
import { unetForward, type UnetConfig } from '../../inference/nets/unet.js';
import { classifierForward, type ClassifierConfig } from '../../inference/nets/classifier.js';
import { linearSchedule } from '../../inference/nets/diffusion-schedule.js';
import { backward } from '../../core/autodiff/backward.js';
import { ModelSession, type Feed, type SessionOptions } from '../../core/runtime/session.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';
import { AttackError } from './errors.js';

export function prefixWeights(w: NamedWeights, prefix: string): NamedWeights {
  return new Map([...w].map(([k, v]) => [`${prefix}.${k}`, v]));
}

/** Graph with inputs x, noise, target, and per step i: t.i [n], coef.i [n, 4, 1, 1] (see `chainFeeds`). */
export function buildPurifiedLossGraph(u: UnetConfig, c: ClassifierConfig, steps: number, n: number): GraphBuilder {
  if (u.size !== c.size) throw new AttackError('E_ATTACK_CONFIG', `UNet size ${u.size} ≠ classifier size ${c.size}`);
  const S = u.size;
  const b = new GraphBuilder('purified_classifier_loss');
  const x = b.input('x', [n, 1, S, S]);
  const noise = b.input('noise', [n, 1, S, S]);
  const target = b.input('target', [n, c.classes]);
  const start = b.input('start', [n, 2, 1, 1]); // [√ᾱ_{t*}, √(1 − ᾱ_{t*})]
  const col = (v: ReturnType<typeof b.input>, j: number) => b.slice(v, [j], [j + 1], [1]);
  let xt = b.add(b.mul(b.sub(b.mul(x, b.scalar(2)), b.scalar(1)), col(start, 0)), b.mul(noise, col(start, 1)));
  let x0 = xt;
  for (let i = 0; i < steps; i++) {
    const t = b.input(`t.${i}`, [n]);
    // coef.i = [√(1 − ᾱ_t), 1/√ᾱ_t, √ᾱ_prev, √(1 − ᾱ_prev)]
    const k = b.input(`coef.${i}`, [n, 4, 1, 1]);
    const eps = b.scope('unet', () => b.sharing(() => unetForward(b, u, xt, t)));
    x0 = b.mul(b.sub(xt, b.mul(eps, col(k, 0))), col(k, 1));
    if (i < steps - 1) xt = b.add(b.mul(x0, col(k, 2)), b.mul(eps, col(k, 3)));
  }
  const p = b.mul(b.add(x0, b.scalar(1)), b.scalar(0.5));
  const clipped = b.sub(b.relu(p), b.relu(b.sub(p, b.scalar(1))));
  const logits = b.scope('clf', () => classifierForward(b, c, clipped));
  const loss = b.mul(b.reduceSum(b.mul(b.logSoftmax(logits, 1), target), [0, 1], false), b.scalar(-1));
  b.output(loss, 'loss');
  b.output(logits, 'logits');
  b.output(clipped, 'purified');
  backward(b, loss, [x]);
  return b;
}

/** Per-row schedule feeds for rows with the given timesteps (each strictly descending, all of length `steps`). */
export function chainFeeds(T: number, schedules: readonly (readonly number[])[], steps: number): Record<string, Feed> {
  const ab = linearSchedule(T).alphaBar;
  const n = schedules.length;
  const start = new Float32Array(n * 2);
  const feeds: Record<string, Feed> = {};
  schedules.forEach((s, r) => {
    if (s.length !== steps) throw new AttackError('E_ATTACK_CONFIG', `row ${r} has ${s.length} DDIM steps, the graph ${steps}`);
    start[r * 2] = Math.sqrt(ab[s[0]]);
    start[r * 2 + 1] = Math.sqrt(1 - ab[s[0]]);
  });
  feeds.start = { shape: [n, 2, 1, 1], data: start };
  for (let i = 0; i < steps; i++) {
    const t = new Float32Array(n), k = new Float32Array(n * 4);
    schedules.forEach((s, r) => {
      const ti = s[i], tp = i + 1 < steps ? s[i + 1] : 0;
      t[r] = ti;
      k.set([Math.sqrt(1 - ab[ti]), 1 / Math.sqrt(ab[ti]), Math.sqrt(ab[tp]), Math.sqrt(1 - ab[tp])], r * 4);
    });
    feeds[`t.${i}`] = { shape: [n], data: t };
    feeds[`coef.${i}`] = { shape: [n, 4, 1, 1], data: k };
  }
  return feeds;
}

export interface PurifiedLossResult {
  /** Per-row cross-entropy. */
  loss: Float64Array;
  /** dLₙ/dxₙ per row, [rows·S·S]. */
  grad: Float32Array;
  /** Classifier logits of the purified rows [rows, classes]. */
  logits: Float32Array;
  /** The purified (clipped) images [rows·S·S]. */
  purified: Float32Array;
}

/** Sessions of the purify→classify loss graph, one per (steps, rows), weights baked in. */
export class PurifiedLoss {
  private readonly cache = new Map<string, Promise<ModelSession>>();
  private readonly weights: NamedWeights;

  constructor(
    readonly unet: { config: UnetConfig; weights: NamedWeights },
    readonly classifier: { config: ClassifierConfig; weights: NamedWeights },
    readonly opts: SessionOptions = {},
  ) {
    this.weights = new Map([...prefixWeights(unet.weights, 'unet'), ...prefixWeights(classifier.weights, 'clf')]);
  }

  private session(steps: number, rows: number): Promise<ModelSession> {
    const key = `${steps}:${rows}`;
    let p = this.cache.get(key);
    if (!p) {
      const g = buildPurifiedLossGraph(this.unet.config, this.classifier.config, steps, rows);
      p = ModelSession.create(g.serialize({ paramsAs: 'initializers', weights: this.weights }), this.opts);
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  /**
   * Rows: images x [rows·S·S], noises [rows·S·S], one-hot targets [rows·classes], timesteps per row (all the same
   * length). Returns per-row losses and gradients.
   */
  async run(x: Float32Array, noise: Float32Array, target: Float32Array, schedules: readonly (readonly number[])[]): Promise<PurifiedLossResult> {
    const rows = schedules.length, S = this.unet.config.size, K = this.classifier.config.classes;
    if (rows === 0) return { loss: new Float64Array(0), grad: new Float32Array(0), logits: new Float32Array(0), purified: new Float32Array(0) };
    const steps = schedules[0].length;
    const session = await this.session(steps, rows);
    const img = (data: Float32Array): TensorF32 => ({ shape: [rows, 1, S, S], data });
    const out = await session.run(
      { x: img(x), noise: img(noise), target: { shape: [rows, K], data: target }, ...chainFeeds(this.unet.config.T, schedules, steps) },
      ['logits', 'purified', 'grad.x'],
    );
    const logits = out.get('logits')!.data;
    return { loss: crossEntropyRows(logits, target, K), grad: out.get('grad.x')!.data, logits, purified: out.get('purified')!.data };
  }

  async release(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) await (await p.catch(() => null))?.release().catch(() => undefined);
  }
}

/** Per-row −Σₖ tₖ log softmax(z)ₖ, in float64. */
export function crossEntropyRows(logits: Float32Array, target: Float32Array, K: number): Float64Array {
  const n = logits.length / K;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, logits[r * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits[r * K + k] - m);
    const lse = m + Math.log(s);
    let l = 0;
    for (let k = 0; k < K; k++) l -= target[r * K + k] * (logits[r * K + k] - lse);
    out[r] = l;
  }
  return out;
}
