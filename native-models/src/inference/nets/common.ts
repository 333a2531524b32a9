/**
 * What the three nets share: a per-shape session cache (graphs have static shapes, so one compiled session per
 * batch size), weight validation with a clear error, and the plumbing that turns a forward+backward session run
 * into a StepResult.
 */
import { stateName, type GraphBuilder } from '../../core/graph/builder.js';
import { ModelSession, feedsOf, type Feed, type SessionOptions } from '../../core/runtime/session.js';
import { nchwcBlockSize } from '../../core/runtime/nchwc.js';
import { gradName } from '../../core/autodiff/backward.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';
import type { StepResult } from '../../core/train/types.js';

/** Weights that do not match the net's parameters (missing, wrong shape). */
export class WeightsError extends Error {
  readonly code = 'E_WEIGHTS';
  constructor(message: string) {
    super(message);
    this.name = 'WeightsError';
  }
}

/** Bad data handed to a net (wrong image size, missing labels, ...). */
export class InputError extends Error {
  readonly code = 'E_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export function checkWeights(b: GraphBuilder, weights: NamedWeights): void {
  for (const [name, { value }] of b.params) {
    const w = weights.get(name);
    if (!w) throw new WeightsError(`missing weight "${name}"`);
    if (w.shape.length !== value.shape.length || w.shape.some((d, i) => d !== value.shape[i])) {
      throw new WeightsError(`weight "${name}" has shape [${w.shape.join(', ')}], expected [${value.shape.join(', ')}]`);
    }
    if (w.data.length !== value.shape.reduce((p, q) => p * q, 1)) throw new WeightsError(`weight "${name}" has ${w.data.length} values for shape [${w.shape.join(', ')}]`);
  }
}

let warnedNchwcFallback = false;

/**
 * A session for `builder` with its parameters as inputs. On the CPU provider (and unless `opts.nchwc` is false),
 * Convs with runtime weights are lowered to onnxruntime's NCHWc kernels (graph/nchwc.ts); should that model fail
 * to load, the plain ONNX model is used instead (with a one-time warning). `nchwcBlock` says which one runs (0: plain).
 */
export async function createTrainingSession(builder: GraphBuilder, opts: SessionOptions): Promise<{ session: ModelSession; nchwcBlock: number }> {
  const block = (opts.ep ?? 'cpu') === 'cpu' && opts.nchwc !== false ? await nchwcBlockSize() : 0;
  if (block > 0) {
    try {
      return { session: await ModelSession.create(builder.serialize({ paramsAs: 'inputs', nchwcBlock: block }), opts), nchwcBlock: block };
    } catch (e) {
      // fall through to the plain model, and say so once per process: the step still trains, only slower
      if (!warnedNchwcFallback) {
        warnedNchwcFallback = true;
        process.stderr.write(`medfedpure: the NCHWc-lowered training graph did not load (${(e as Error).message.split('\n')[0]}); using plain ONNX Convs\n`);
      }
    }
  }
  return { session: await ModelSession.create(builder.serialize({ paramsAs: 'inputs' }), opts), nchwcBlock: 0 };
}

export interface CompiledGraph {
  session: ModelSession;
  builder: GraphBuilder;
  /** Trainable parameters (each has a 'grad.<name>' output in a training graph). */
  params: string[];
  /** State tensors whose new value the graph outputs as 'state.<name>' (BatchNorm running statistics in training mode). */
  states: string[];
  /** NCHWc block size the session's Convs run with (0: plain ONNX Convs). */
  nchwcBlock: number;
}

/** Lazily builds and caches one session per key (e.g. "train:32"). */
export class GraphRunner {
  private readonly cache = new Map<string, Promise<CompiledGraph>>();
  constructor(readonly opts: SessionOptions = {}) {}

  get(key: string, build: () => GraphBuilder): Promise<CompiledGraph> {
    let p = this.cache.get(key);
    if (!p) {
      p = (async () => {
        const builder = build();
        const { session, nchwcBlock } = await createTrainingSession(builder, this.opts);
        const outputs = new Set(builder.outputs.map((o) => o.name));
        const states = builder.paramList().filter((p) => !p.trainable && outputs.has(stateName(p.value.name))).map((p) => p.value.name);
        return { session, builder, params: builder.trainableParams().map((v) => v.name), states, nchwcBlock };
      })();
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  async release(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) await (await p).session.release().catch(() => undefined);
  }
}

/**
 * Run a forward+backward graph (outputs 'loss', 'grad.<param>' and, where present, 'state.<name>') and package a
 * StepResult (grads of the trainable parameters; `state`: the new values of the state tensors, for the trainer).
 */
export async function runStep(g: CompiledGraph, weights: NamedWeights, extra: Record<string, Feed>, extraFetches: string[] = []): Promise<{ result: StepResult; extras: Map<string, TensorF32> }> {
  checkWeights(g.builder, weights);
  const fetches = ['loss', ...g.params.map((p) => gradName(p)), ...g.states.map((s) => stateName(s)), ...extraFetches];
  const out = await g.session.run(feedsOf(weights, extra), fetches);
  const grads: NamedWeights = new Map();
  for (const p of g.params) grads.set(p, out.get(gradName(p))!);
  const extras = new Map<string, TensorF32>();
  for (const f of extraFetches) extras.set(f, out.get(f)!);
  const result: StepResult = { loss: out.get('loss')!.data[0], grads };
  if (g.states.length) result.state = new Map(g.states.map((s) => [s, out.get(stateName(s))!]));
  return { result, extras };
}

export function oneHot(y: Int32Array, k: number): TensorF32 {
  const d = new Float32Array(y.length * k);
  y.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= k) throw new InputError(`label ${c} at index ${i} is not in [0, ${k})`);
    d[i * k + c] = 1;
  });
  return { shape: [y.length, k], data: d };
}
