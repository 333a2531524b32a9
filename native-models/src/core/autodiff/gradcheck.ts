/**
 * Finite-difference gradient checking: the proof for every VJP rule and every net.
 * For a graph with float output y, the checked scalar is L = Σ yᵢ·rᵢ with a fixed random r (so every output
 * element matters), accumulated in float64 in JS. The analytic side is backward() run by onnxruntime; the numeric
 * side is a central difference (L(x+ε) − L(x−ε)) / 2ε from re-running the forward graph, at a random subset of
 * coordinates of each checked tensor.
 */
import { GraphBuilder, type Value } from '../graph/builder.js';
import { ModelSession, type Feed } from '../runtime/session.js';
import { backward } from './backward.js';
import { Rng } from '../rng.js';

export interface GradCheckCase {
  /** Declare inputs (b.input / b.param) and build the graph; return its output and the values to differentiate. */
  build: (b: GraphBuilder) => { out: Value; wrt: Value[] };
  /** Feeds for every input and parameter, by name. */
  feeds: Map<string, Feed>;
}

export interface GradCheckOptions {
  eps?: number;
  /** Coordinates checked per tensor (all when the tensor is smaller). */
  coords?: number;
  rtol?: number;
  /** Absolute tolerance, relative to the largest analytic gradient magnitude of that tensor (floor 1). */
  atol?: number;
  seed?: number;
  /** Serialise both models with this NCHWc block size (graph/nchwc.ts), to prove the lowered graph too. */
  nchwcBlock?: number;
}

export interface GradCheckReport {
  ok: boolean;
  worst: { name: string; index: number; analytic: number; numeric: number; err: number; allowed: number } | undefined;
  checked: number;
  failures: string[];
}

/** Uniform [0, 1) draws from the repository's one seeded RNG (core/rng.ts), for random test inputs. */
export function seededUniform(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
export async function gradCheck(c: GradCheckCase, o: GradCheckOptions = {}): Promise<GradCheckReport> {
  const eps = o.eps ?? 3e-3;
  const rtol = o.rtol ?? 2e-2;
  const atol = o.atol ?? 2e-3;
  const rand = seededUniform(o.seed ?? 1234);

  // Forward-only model.
  const fb = new GraphBuilder('fd_forward');
  const { out: fOut } = c.build(fb);
  fb.output(fOut, 'y');
  const fwd = await ModelSession.create(fb.serialize({ paramsAs: 'inputs', nchwcBlock: o.nchwcBlock }), { threads: 1 });
  const n = fOut.shape.reduce((p, q) => p * q, 1);
  const r = new Float32Array(n).map(() => rand() * 2 - 1);
  const lossOf = async (feeds: Map<string, Feed>): Promise<number> => {
    const y = (await fwd.run(feeds, ['y'])).get('y')!.data;
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i] * r[i];
    return s;
  };

  // Forward + backward model with L = Σ y·r.
  const bb = new GraphBuilder('fd_backward');
  const { out, wrt } = c.build(bb);
  const loss = bb.reduceSum(bb.mul(out, bb.constF32(r, out.shape)), [...out.shape.keys()], false);
  const grads = backward(bb, loss, wrt);
  const bwd = await ModelSession.create(bb.serialize({ paramsAs: 'inputs', nchwcBlock: o.nchwcBlock }), { threads: 1 });
  const analytic = await bwd.run(c.feeds, [...grads.values()].map((g) => g.name));

  const failures: string[] = [];
  let worst: GradCheckReport['worst'];
  let checked = 0;
  for (const w of wrt) {
    const base = c.feeds.get(w.name);
    if (!base || base.data instanceof BigInt64Array) throw new Error(`gradCheck: no float feed for "${w.name}"`);
    const ga = analytic.get(grads.get(w.name)!.name)!.data;
    let scale = 1;
    for (const v of ga) scale = Math.max(scale, Math.abs(v));
    const total = base.data.length;
    const idx = total <= (o.coords ?? 12) ? [...Array(total).keys()] : Array.from({ length: o.coords ?? 12 }, () => Math.floor(rand() * total));
    for (const i of idx) {
      const pert = new Float32Array(base.data);
      const feeds = new Map(c.feeds);
      feeds.set(w.name, { shape: base.shape, data: pert });
      const x0 = base.data[i];
      pert[i] = x0 + eps;
      const lp = await lossOf(feeds);
      pert[i] = x0 - eps;
      const lm = await lossOf(feeds);
      const hp = Math.fround(x0 + eps) - Math.fround(x0 - eps); // the step actually taken in float32
      const numeric = (lp - lm) / hp;
      const err = Math.abs(numeric - ga[i]);
      const allowed = atol * scale + rtol * Math.abs(numeric);
      checked++;
      if (!worst || err / allowed > worst.err / worst.allowed) worst = { name: w.name, index: i, analytic: ga[i], numeric, err, allowed };
      if (err > allowed) failures.push(`${w.name}[${i}]: analytic ${ga[i]} vs numeric ${numeric} (|Δ| ${err.toExponential(2)} > ${allowed.toExponential(2)})`);
    }
  }
  await fwd.release();
  await bwd.release();
  return { ok: failures.length === 0, worst, checked, failures };
}
