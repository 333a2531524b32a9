/**
 * VJP rules for matrix products. ḡ = dL/dY.
 *
 * | op                      | dL/dA                         | dL/dB                          | dL/dC        |
 * |-------------------------|-------------------------------|--------------------------------|--------------|
 * | MatMul Y = A·B (batched)| ḡ·Bᵀ  (summed to A's shape)   | Aᵀ·ḡ  (summed to B's shape)    |              |
 * | Gemm Y = op(A)·op(B) + C| ḡ·op(B)ᵀ  (transposed if tA)  | op(A)ᵀ·ḡ  (transposed if tB)   | ḡ summed to C|
 *
 * A 2-D B against a batched A (a linear layer on [N,T,D] tokens) uses one flat Gemm for dB instead of a batched
 * product followed by a sum.
 */
import { attrFloat, attrInt, g0, sumToShape, transposeLast2, type VjpRule } from '../vjp.js';

export const linearRules: Record<string, VjpRule> = {
  MatMul: (a) => {
    const { b, x: [A, B], needs } = a;
    const g = g0(a);
    const dA = needs[0] ? sumToShape(b, b.matmul(g, transposeLast2(b, B!)), A!.shape) : undefined;
    let dB;
    if (needs[1]) {
      if (B!.shape.length === 2 && A!.shape.length > 2) {
        const k = A!.shape[A!.shape.length - 1];
        const n = g.shape[g.shape.length - 1];
        dB = b.gemm(b.reshape(A!, [-1, k]), b.reshape(g, [-1, n]), undefined, { transA: true });
      } else {
        dB = sumToShape(b, b.matmul(transposeLast2(b, A!), g), B!.shape);
      }
    }
    return [dA, dB];
  },
  Gemm: (a) => {
    const { b, x: [A, B, C], needs, node } = a;
    // alpha and beta are FLOAT attributes in ONNX: read them as floats (an int reader would see the default).
    if (attrFloat(node, 'alpha', 1) !== 1 || attrFloat(node, 'beta', 1) !== 1) throw new Error('Gemm VJP supports alpha = beta = 1 only');
    const g = g0(a);
    const tA = attrInt(node, 'transA', 0) === 1;
    const tB = attrInt(node, 'transB', 0) === 1;
    let dA, dB;
    if (needs[0]) dA = tA ? b.gemm(B!, g, undefined, { transA: tB, transB: true }) : b.gemm(g, B!, undefined, { transB: !tB });
    if (needs[1]) dB = tB ? b.gemm(g, A!, undefined, { transA: true, transB: tA }) : b.gemm(A!, g, undefined, { transA: !tA });
    const dC = needs[2] && C ? sumToShape(b, g, C.shape) : undefined;
    return [dA, dB, dC];
  },
};
