/**
 * The one weight/tensor currency of native-models: named float32 tensors.
 * The trainer, the optimisers, checkpoints, the FL agent (averaging, clipping, sending) and the artifact files all
 * speak `NamedWeights`. Insertion order is the canonical parameter order (it is what gets serialised).
 */
export interface TensorF32 {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type NamedWeights = Map<string, TensorF32>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor(shape: readonly number[], data?: Float32Array | number[]): TensorF32 {
  const n = numel(shape);
  const d = data === undefined ? new Float32Array(n) : data instanceof Float32Array ? data : Float32Array.from(data);
  if (d.length !== n) throw new RangeError(`tensor: shape [${shape.join(', ')}] needs ${n} values, got ${d.length}`);
  return { shape: [...shape], data: d };
}

/** Deep copy (new Float32Arrays), same order. */
export function cloneWeights(w: NamedWeights): NamedWeights {
  const out: NamedWeights = new Map();
  for (const [k, t] of w) out.set(k, { shape: [...t.shape], data: new Float32Array(t.data) });
  return out;
}
