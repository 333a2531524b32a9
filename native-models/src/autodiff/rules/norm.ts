/**
 * VJP rule for LayerNormalization (also the core of our GroupNorm, see graph/layers.ts).
 * Over the normalised axes A = [axis, rank): x̂ = (x − μ)·σ⁻¹ (μ and σ⁻¹ come from the node's Mean and InvStdDev
 * outputs), y = x̂·γ + β, ĝ = ḡ·γ:
 *
 * | input | gradient                                          |
 * |-------|---------------------------------------------------|
 * | x     | σ⁻¹ · (ĝ − mean_A(ĝ) − x̂ · mean_A(ĝ·x̂))           |
 * | γ     | Σ over the leading axes of ḡ·x̂                    |
 * | β     | Σ over the leading axes of ḡ                      |
 *
 * When γ is a constant of ones and there is no β (GroupNorm's core), y already is x̂ and ĝ = ḡ, so neither is recomputed.
 */
import type { GraphBuilder, Value } from '../../graph/builder.js';
import { attrInt, g0, type VjpRule } from '../vjp.js';

/** True when `v` is a float32 constant whose every element is 1. */
function isConstOnes(b: GraphBuilder, v: Value): boolean {
  const c = b.constants.get(v.name);
  return c !== undefined && c.data instanceof Float32Array && c.data.every((q) => q === 1);
}

export const normRules: Record<string, VjpRule> = {
  LayerNormalization: (a) => {
    const { b, x: [X, scale, bias], y: [Y, mean, invStd], needs, node } = a;
    const g = g0(a);
    const r = X!.shape.length;
    const axis = attrInt(node, 'axis', -1);
    const ax = axis < 0 ? axis + r : axis;
    const normAxes = [...Array(r - ax).keys()].map((i) => i + ax);
    const leadAxes = [...Array(ax).keys()];
    // With a constant all-ones scale and no bias (our GroupNorm's core), y is x̂ itself and ĝ = ḡ: two fewer
    // full-size passes for x̂ and one for ĝ.
    const plain = !bias && isConstOnes(b, scale!);
    const xhat = plain ? Y : b.mul(b.sub(X!, mean), invStd);
    let dX, dScale, dBias;
    if (needs[0]) {
      const gh = plain ? g : b.mul(g, scale!);
      const t = b.sub(b.sub(gh, b.reduceMean(gh, normAxes, true)), b.mul(xhat, b.reduceMean(b.mul(gh, xhat), normAxes, true)));
      dX = b.mul(t, invStd);
    }
    if (needs[1]) dScale = b.reduceSum(b.mul(g, xhat), leadAxes, false);
    if (needs[2] && bias) dBias = b.reduceSum(g, leadAxes, false);
    return [dX, dScale, dBias];
  },
};
