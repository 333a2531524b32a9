/**
 * FLOP counts of the pipeline's graphs, read off the builder's nodes: multiply–accumulates of Conv, ConvTranspose,
 * MatMul and Gemm, × 2. Element-wise ops, norms and softmax are left out (they are memory-bound and small next to
 * these), so the figures are a lower bound of the work and "achieved GFLOP/s" is conservative.
 */
import { GraphBuilder } from '../../core/graph/builder.js';
import { classifierForward, type ClassifierConfig } from '../nets/classifier.js';
import { maeForward, keptOf, patchesOf, type MaeConfig } from '../nets/mae.js';
import { unetForward, type UnetConfig } from '../nets/unet.js';
import { numel } from '../../core/tensor.js';

export function countFlops(b: GraphBuilder): { flops: number; byOp: Record<string, number> } {
  const byOp: Record<string, number> = {};
  const shape = (name: string) => b.value(name).shape;
  for (const n of b.nodes) {
    let macs = 0;
    if (n.op === 'Conv') {
      const w = shape(n.inputs[1]);
      macs = numel(shape(n.outputs[0])) * (numel(w) / w[0]);
    } else if (n.op === 'ConvTranspose') {
      const w = shape(n.inputs[1]);
      macs = numel(shape(n.inputs[0])) * (numel(w) / w[0]);
    } else if (n.op === 'MatMul') {
      const a = shape(n.inputs[0]);
      macs = numel(shape(n.outputs[0])) * a[a.length - 1];
    } else if (n.op === 'Gemm') {
      const a = shape(n.inputs[0]);
      const transA = (n.attrs.transA as { value?: number } | undefined)?.value === 1;
      macs = numel(shape(n.outputs[0])) * (transA ? a[0] : a[1]);
    } else continue;
    byOp[n.op] = (byOp[n.op] ?? 0) + 2 * macs;
  }
  return { flops: Object.values(byOp).reduce((p, q) => p + q, 0), byOp };
}

export function classifierFlops(c: ClassifierConfig, batch: number): number {
  const b = new GraphBuilder('flops');
  classifierForward(b, c, b.input('x', [batch, 1, c.size, c.size]));
  return countFlops(b).flops;
}

/** One MAE forward over `batch` masked copies. */
export function maeFlops(c: MaeConfig, batch: number): number {
  const b = new GraphBuilder('flops');
  maeForward(b, c, {
    x: b.input('x', [batch, 1, c.size, c.size]),
    keep: b.input('keep', [batch * keptOf(c)], 'int64'),
    restore: b.input('restore', [batch * patchesOf(c)], 'int64'),
  });
  return countFlops(b).flops;
}

/** One UNet (ε) evaluation. */
export function unetFlops(c: UnetConfig, batch: number): number {
  const b = new GraphBuilder('flops');
  unetForward(b, c, b.input('x_t', [batch, 1, c.size, c.size]), b.input('t', [batch]));
  return countFlops(b).flops;
}
