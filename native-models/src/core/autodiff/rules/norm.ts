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
 *
 * BatchNorm in training mode (the composite op of graph/layers.ts; outputs y, μ [C], σ² [C], statistics over the
 * k = N·spatial values of each channel, σ⁻¹ = (σ² + ε)^−½, x̂ = (x − μ)·σ⁻¹ recomputed as one BatchNormalization).
 * With per-channel S₁ = Σ ḡ and S₂ = Σ ḡ·x̂:
 *
 * | input | gradient                                                           |
 * |-------|--------------------------------------------------------------------|
 * | x     | (γσ⁻¹)·ḡ + (−γσ⁻¹S₂/k)·x̂ + (−γσ⁻¹S₁/k)                             |
 * | γ     | S₂                                                                 |
 * | β     | S₁                                                                 |
 *
 * (μ and σ² are outputs for the running statistics only; no gradient flows back through them.)
 * dx is again two one-pass BatchNormalizations and an Add.
 *
 * BatchNormalization (inference form, per channel c: y = (x − m)·s·(v + ε)^−½ + β, x̂ = (x − m)·(v + ε)^−½),
 * sums over every axis but 1:
 *
 * | input | gradient                                                           |
 * |-------|--------------------------------------------------------------------|
 * | x     | ḡ·s·(v + ε)^−½ (one BatchNormalization of ḡ)                       |
 * | s     | Σ ḡ·x̂                                                              |
 * | β     | Σ ḡ                                                                |
 * | m     | −s·(v + ε)^−½ · Σ ḡ                                                |
 * | v     | −½·s/(v + ε) · Σ ḡ·x̂                                               |
 */
import type { Value } from '../../graph/builder.js';
import { numel } from '../../tensor.js';
import { GraphError } from '../../graph/builder.js';
import { attrFloat, attrInt, g0, type VjpRule } from '../vjp.js';

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
  BatchNorm: (a) => {
    const { b, x: [X, gamma], y: [, mean, variance], gy, needs, node } = a;
    if (gy[1] || gy[2]) throw new GraphError('E_VJP', `${node.scope || '<root>'}: BatchNorm's batch statistics carry no gradient (use them for the running statistics only)`);
    const g = g0(a);
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const c = X!.shape[1];
    const axes = [0, ...X!.shape.slice(2).map((_, i) => i + 2)];
    const k = X!.shape[0] * numel(X!.shape.slice(2));
    const zeros = b.constF32(new Float32Array(c), [c]);
    const ones = b.constF32(new Float32Array(c).fill(1), [c]);
    const xhat = b.batchNormalization(X!, ones, zeros, mean!, variance!, eps);
    const s1 = b.reduceSum(g, axes, false);
    const s2 = b.reduceSum(b.mul(g, xhat), axes, false);
    let dX;
    if (needs[0]) {
      const gInv = b.mul(gamma!, b.reciprocal(b.sqrt(b.add(variance!, b.scalar(eps))))); // γσ⁻¹ [C]
      const coef = b.mul(gInv, b.scalar(-1 / k));
      const pg = b.batchNormalization(g, gInv, zeros, zeros, ones, 0);
      const qx = b.batchNormalization(xhat, b.mul(coef, s2), b.mul(coef, s1), zeros, ones, 0);
      dX = b.add(pg, qx);
    }
    return [dX, needs[1] ? s2 : undefined, needs[2] ? s1 : undefined];
  },
  BatchNormalization: (a) => {
    const { b, x: [X, scale, , mean, variance], needs, node } = a;
    const g = g0(a);
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const c = X!.shape[1];
    const axes = [0, ...X!.shape.slice(2).map((_, i) => i + 2)];
    const zeros = b.constF32(new Float32Array(c), [c]);
    const ones = b.constF32(new Float32Array(c).fill(1), [c]);
    const dX = needs[0] ? b.batchNormalization(g, scale!, zeros, zeros, variance!, eps) : undefined;
    const sg = needs[2] || needs[3] ? b.reduceSum(g, axes, false) : undefined;
    const sgx = needs[1] || needs[4] ? b.reduceSum(b.mul(g, b.batchNormalization(X!, ones, zeros, mean!, variance!, eps)), axes, false) : undefined;
    const ve = needs[3] || needs[4] ? b.add(variance!, b.scalar(eps)) : undefined;
    const dMean = needs[3] ? b.neg(b.mul(b.mul(scale!, b.reciprocal(b.sqrt(ve!))), sg!)) : undefined;
    const dVar = needs[4] ? b.mul(b.mul(b.div(scale!, ve!), b.scalar(-0.5)), sgx!) : undefined;
    return [dX, needs[1] ? sgx : undefined, needs[2] ? sg : undefined, dMean, dVar];
  },
};
