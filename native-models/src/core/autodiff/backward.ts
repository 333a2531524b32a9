/**
 * Reverse-mode differentiation of a built graph. `backward` walks the forward nodes from last to first, asks each
 * op's VJP rule (registry.ts) for its input gradients, sums contributions where a value fans out, and appends the
 * backward nodes to the same builder — so one ONNX model holds forward + backward and one session run gives the
 * loss and every gradient. Gradients can be taken w.r.t. parameters and graph inputs alike (dL/dx for attacks).
 */
import { GraphError, type GraphBuilder, type Value } from '../graph/builder.js';
import { NON_DIFFERENTIABLE, vjpRule } from './registry.js';

export interface BackwardOptions {
  /** Add each gradient as a graph output named `${prefix}${name}` (default prefix 'grad.'; false: no outputs). */
  outputPrefix?: string | false;
}

/** Name of the graph output holding dLoss/d`name`. */
export const gradName = (name: string, prefix = 'grad.'): string => `${prefix}${name}`;

/**
 * Append the gradient of the scalar `loss` w.r.t. each of `wrt` to `b`. Returns name → gradient value.
 * A `wrt` value the loss does not depend on gets a zero gradient.
 */
export function backward(b: GraphBuilder, loss: Value, wrt: readonly Value[], opts: BackwardOptions = {}): Map<string, Value> {
  if (loss.dtype !== 'float32' || loss.shape.reduce((p, q) => p * q, 1) !== 1) {
    throw new GraphError('E_LOSS', `loss "${loss.name}" must be a float32 scalar, got ${loss.dtype} [${loss.shape.join(', ')}]`);
  }
  const nForward = b.nodes.length;

  // Values that depend on something in `wrt` (only these need gradients).
  const live = new Set(wrt.map((v) => v.name));
  for (let i = 0; i < nForward; i++) {
    const n = b.nodes[i];
    if (NON_DIFFERENTIABLE.has(n.op)) continue;
    if (n.inputs.some((x) => live.has(x))) for (const o of n.outputs) if (b.value(o).dtype === 'float32') live.add(o);
  }

  // Gradient contributions per value; summed once, when first read.
  const contrib = new Map<string, Value[]>();
  const addContrib = (name: string, g: Value): void => {
    const list = contrib.get(name);
    if (list) list.push(g);
    else contrib.set(name, [g]);
  };
  const total = (name: string): Value | undefined => {
    const list = contrib.get(name);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) {
      const s = b.sum(list);
      contrib.set(name, [s]);
      return s;
    }
    return list[0];
  };

  addContrib(loss.name, b.constF32(new Float32Array(loss.shape.reduce((p, q) => p * q, 1)).fill(1), loss.shape));

  // Composite ops (GraphBuilder.composite) are differentiated as one node: at a composite's last node the walk
  // takes its rule and jumps over the nodes inside.
  const compositeEndingAt = new Map(b.composites.filter((c) => c.last < nForward).map((c) => [c.last, c]));

  for (let i = nForward - 1; i >= 0; i--) {
    const comp = compositeEndingAt.get(i);
    const node = comp ? comp.node : b.nodes[i];
    if (comp) {
      const outs = new Set(comp.node.outputs);
      for (let k = comp.first; k <= comp.last; k++) {
        for (const o of b.nodes[k].outputs) {
          if (!outs.has(o) && contrib.has(o)) throw new GraphError('E_COMPOSITE', `${node.scope || '<root>'}: value "${o}" inside composite ${node.op} is used outside it`);
        }
      }
      i = comp.first;
    }
    const gy = node.outputs.map((o) => total(o));
    if (gy.every((g) => g === undefined)) continue;
    const needs = node.inputs.map((x) => x !== '' && live.has(x));
    if (!needs.some(Boolean) || NON_DIFFERENTIABLE.has(node.op)) continue;
    const rule = vjpRule(node.op);
    if (!rule) throw new GraphError('E_NO_VJP', `${node.scope || '<root>'}: no VJP rule for op ${node.op} (node ${node.name})`);
    const x = node.inputs.map((n) => (n === '' ? undefined : b.value(n)));
    const y = node.outputs.map((n) => b.value(n));
    const grads = b.scope(`grad(${node.op})`, () => rule({ b, node, x, y, gy, needs }));
    node.inputs.forEach((name, k) => {
      const g = grads[k];
      if (!needs[k] || !g) return;
      const xs = x[k]!.shape;
      if (g.shape.length !== xs.length || g.shape.some((d, j) => d !== xs[j])) {
        throw new GraphError('E_VJP_SHAPE', `VJP rule for ${node.op} returned [${g.shape.join(', ')}] for input "${name}" of shape [${xs.join(', ')}]`);
      }
      addContrib(name, g);
    });
  }

  const out = new Map<string, Value>();
  const prefix = opts.outputPrefix === undefined ? 'grad.' : opts.outputPrefix;
  for (const w of wrt) {
    const g = total(w.name) ?? b.zeros(w.shape);
    out.set(w.name, prefix === false ? g : b.output(g, gradName(w.name, prefix)));
  }
  return out;
}
