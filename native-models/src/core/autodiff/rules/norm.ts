/**
 * VJP rules for normalisation. ḡ = dL/dy.
 *
 * LayerNormalization over the axes A = [axis, rank): x̂ = (x − μ)·σ⁻¹ (μ and σ⁻¹ come from the node's Mean and
 * InvStdDev outputs), y = x̂·γ + β, ĝ = ḡ·γ:
 *
 * | input | gradient                                          |
 * |-------|---------------------------------------------------|
 * | x     | σ⁻¹ · (ĝ − mean_A(ĝ) − x̂ · mean_A(ĝ·x̂))           |
 * | γ     | Σ over the leading axes of ḡ·x̂                    |
 * | β     | Σ over the leading axes of ḡ                      |
 *
 * GroupNorm (the composite op of graph/layers.ts; outputs y, x̂, σ⁻¹ [N, G, 1]), the same formula per (n, group)
 * with a per-channel γ, arranged so that every full-size pass is shared. With the per-(n, c) spatial sums
 * S₁ = Σ ḡ and S₂ = Σ ḡ·x̂ (two reductions, one product), and per (n, group) a₁ = Σ_c γ_c·S₁, a₂ = Σ_c γ_c·S₂
 * (m = C/G · H·W values per group):
 *
 * | input | gradient                                                           |
 * |-------|--------------------------------------------------------------------|
 * | x     | (σ⁻¹γ_c)·ḡ + (−σ⁻¹a₂/m)·x̂ + (−σ⁻¹a₁/m)                             |
 * | γ     | Σ_n S₂                                                             |
 * | β     | Σ_n S₁                                                             |
 *
 * dx is two one-pass BatchNormalizations (per-(n, c) scale of ḡ; per-(n, group) scale and shift of x̂) and an Add:
 * six full-size passes in all, where the per-op rules of reshape → LayerNorm → Mul γ → Add β took eleven.
 */
import type { Value } from '../../graph/builder.js';
import { numel } from '../../tensor.js';
import { attrInt, g0, type VjpRule } from '../vjp.js';

export const normRules: Record<string, VjpRule> = {
  LayerNormalization: (a) => {
    const { b, x: [X, scale, bias], y: [, mean, invStd], needs, node } = a;
    const g = g0(a);
    const r = X!.shape.length;
    const axis = attrInt(node, 'axis', -1);
    const ax = axis < 0 ? axis + r : axis;
    const normAxes = [...Array(r - ax).keys()].map((i) => i + ax);
    const leadAxes = [...Array(ax).keys()];
    const xhat = b.mul(b.sub(X!, mean), invStd);
    let dX, dScale, dBias;
    if (needs[0]) {
      const gh = b.mul(g, scale!);
      const t = b.sub(b.sub(gh, b.reduceMean(gh, normAxes, true)), b.mul(xhat, b.reduceMean(b.mul(gh, xhat), normAxes, true)));
      dX = b.mul(t, invStd);
    }
    if (needs[1]) dScale = b.reduceSum(b.mul(g, xhat), leadAxes, false);
    if (needs[2] && bias) dBias = b.reduceSum(g, leadAxes, false);
    return [dX, dScale, dBias];
  },
  GroupNorm: (a) => {
    const { b, x: [X, gamma], y: [, xhat, invStd], needs, node } = a;
    const g = g0(a);
    const [n, c] = X!.shape;
    const groups = attrInt(node, 'groups', 1);
    const cg = c / groups;
    const hw = numel(X!.shape.slice(2));
    const m = cg * hw;
    const g3 = b.reshape(g, [n, c, hw]);
    const s1 = b.reduceSum(g3, [2], false); // [N, C]
    const s2 = b.reduceSum(b.mul(g3, b.reshape(xhat!, [n, c, hw])), [2], false); // [N, C]
    let dX, dGamma, dBeta;
    if (needs[0]) {
      const invS = b.reshape(invStd!, [n, groups, 1]);
      const gam = b.reshape(gamma!, [groups, cg]);
      const perGroup = (sum: Value): Value => b.mul(invS, b.mul(b.reduceSum(b.mul(b.reshape(sum, [n, groups, cg]), gam), [2], true), b.scalar(-1 / m))); // −σ⁻¹·a/m
      const zeros = (k: number): Value => b.constF32(new Float32Array(k), [k]);
      const ones = (k: number): Value => b.constF32(new Float32Array(k).fill(1), [k]);
      // (σ⁻¹γ_c)·ḡ over [1, N·C, H·W] and (−σ⁻¹a₂/m)·x̂ + (−σ⁻¹a₁/m) over [1, N·G, m]: no broadcast is materialised
      const pg = b.batchNormalization(b.reshape(g, [1, n * c, hw]), b.reshape(b.mul(invS, gam), [n * c]), zeros(n * c), zeros(n * c), ones(n * c), 0);
      const qx = b.batchNormalization(b.reshape(xhat!, [1, n * groups, m]), b.reshape(perGroup(s2), [n * groups]), b.reshape(perGroup(s1), [n * groups]), zeros(n * groups), ones(n * groups), 0);
      dX = b.reshape(b.add(b.reshape(pg, [1, n * groups, m]), qx), X!.shape);
    }
    if (needs[1]) dGamma = b.reduceSum(s2, [0], false);
    if (needs[2]) dBeta = b.reduceSum(s1, [0], false);
    return [dX, dGamma, dBeta];
  },
};
