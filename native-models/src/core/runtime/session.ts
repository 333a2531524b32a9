/**
 * A thin wrapper over onnxruntime-node's InferenceSession for our graphs: create from bytes on a chosen (or
 * auto-selected) execution provider with a configurable intra-op thread count, feed NamedWeights-style tensors
 * by name, and get plain { shape, data } results back.
 */
import * as ort from 'onnxruntime-node';
import type { NamedWeights, TensorF32 } from '../tensor.js';
import { selectExecutionProvider, type EpName } from './ep.js';

export interface SessionOptions {
  /** Intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  /** Provider to use, or 'auto' to pick the best available (default 'cpu': deterministic and always present). */
  ep?: EpName | 'auto';
  /** Graph optimisation level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Training graphs on CPU: run Convs with runtime weights on NCHWc kernels (default true; see graph/nchwc.ts). */
  nchwc?: boolean;
}

export interface TensorI64 {
  readonly shape: readonly number[];
  readonly data: BigInt64Array;
}
export type Feed = TensorF32 | TensorI64;
export type Feeds = Record<string, Feed> | Map<string, Feed>;

/** Error from running or creating a session, with a code. */
export class RuntimeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
    this.code = code;
  }
}

function toOrt(t: Feed): ort.Tensor {
  if (t.data instanceof BigInt64Array) return new ort.Tensor('int64', t.data, t.shape as number[]);
  return new ort.Tensor('float32', t.data, t.shape as number[]);
}

export class ModelSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The execution provider this session runs on. */
    readonly ep: EpName,
  ) {}

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<ModelSession> {
    const ep = opts.ep === undefined ? 'cpu' : opts.ep === 'auto' ? (await selectExecutionProvider()).ep : opts.ep;
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      graphOptimizationLevel: opts.optimization ?? 'all',
      logSeverityLevel: 3,
    };
    if (opts.threads !== undefined) so.intraOpNumThreads = opts.threads;
    try {
      return new ModelSession(await ort.InferenceSession.create(model, so), ep);
    } catch (e) {
      throw new RuntimeError('E_SESSION_CREATE', `onnxruntime could not load the model on ${ep}: ${(e as Error).message}`, { cause: e });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Run with named feeds (any extra names not in the model are ignored); returns float32 outputs by name. */
  async run(feeds: Feeds, fetches: readonly string[] = this.session.outputNames): Promise<Map<string, TensorF32>> {
    const get = (k: string): Feed | undefined => (feeds instanceof Map ? feeds.get(k) : feeds[k]);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const f = get(name);
      if (!f) throw new RuntimeError('E_MISSING_FEED', `model input "${name}" was not fed`);
      ortFeeds[name] = toOrt(f);
    }
    let res: ort.InferenceSession.ReturnType;
    try {
      res = await this.session.run(ortFeeds, fetches as string[]);
    } catch (e) {
      throw new RuntimeError('E_RUN', `onnxruntime run failed: ${(e as Error).message}`, { cause: e });
    }
    const out = new Map<string, TensorF32>();
    for (const name of fetches) {
      const t = res[name];
      if (t.type !== 'float32') throw new RuntimeError('E_OUTPUT_TYPE', `output "${name}" is ${t.type}, expected float32`);
      out.set(name, { shape: [...t.dims], data: t.data as Float32Array });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Merge weights and other feeds into one lookup without copying tensors. */
export function feedsOf(weights: NamedWeights, extra: Record<string, Feed>): Map<string, Feed> {
  const m = new Map<string, Feed>(weights);
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}
