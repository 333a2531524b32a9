/** In-graph losses. Both return a float32 scalar (shape []). */
import type { GraphBuilder, Value } from './builder.js';

/**
 * Softmax cross-entropy against a target distribution [N, K] (one-hot labels or any soft/attacker-chosen target):
 * −(1/N) Σₙ Σₖ tₙₖ · log softmax(z)ₙₖ.
 */
export function softmaxCrossEntropy(b: GraphBuilder, logits: Value, target: Value): Value {
  if (logits.shape.length !== 2) b.fail('SoftmaxCrossEntropy', `expects logits [N, K], got [${logits.shape.join(', ')}]`);
  const lp = b.logSoftmax(logits, 1);
  const s = b.reduceSum(b.mul(lp, target), [0, 1], false);
  return b.mul(s, b.scalar(-1 / logits.shape[0]));
}

/** Mean squared error over all elements. */
export function mse(b: GraphBuilder, pred: Value, target: Value): Value {
  const d = b.sub(pred, target);
  return b.reduceMean(b.mul(d, d), [...pred.shape.keys()], false);
}
