/** Seeded parameter initialisation from the builder's parameter registry (He / Xavier / normal / zeros / ones). */
import type { ParamInfo } from '../../core/graph/builder.js';
import { numel, type NamedWeights } from '../../core/tensor.js';
import { Rng } from '../../core/rng.js';

export function initWeights(params: readonly ParamInfo[], seed: number): NamedWeights {
  const rng = new Rng(seed);
  const out: NamedWeights = new Map();
  for (const { value, init } of params) {
    const n = numel(value.shape);
    let data: Float32Array;
    switch (init.kind) {
      case 'he':
        data = rng.normals(n, Math.sqrt(2 / init.fanIn));
        break;
      case 'xavier': {
        const lim = Math.sqrt(6 / (init.fanIn + init.fanOut));
        data = Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * lim);
        break;
      }
      case 'normal':
        data = rng.normals(n, init.std);
        break;
      case 'zeros':
        data = new Float32Array(n);
        break;
      case 'ones':
        data = new Float32Array(n).fill(1);
        break;
    }
    out.set(value.name, { shape: [...value.shape], data });
  }
  return out;
}
