/**
 * Lowering of 2-D convolutions with *runtime* weights to onnxruntime's blocked-channel ("NCHWc") CPU kernels.
 *
 * onnxruntime's own NCHWc transformer only rewrites Convs whose weights are constant initializers, so our training
 * graphs (weights fed every step, adjoint kernels computed in-graph) run the generic im2col + GEMM Conv. The
 * com.microsoft.nchwc Conv kernel itself reads its weight at run time, so this pass emits what the transformer would,
 * with the filter reorder done in the graph:
 *
 *   x ─ ReorderInput ─┐
 *   W ─ OIHW→OIHWBiBo ┴─ nchwc.Conv ─ ReorderOutput ─ y      (OIHWBiBo: [O/B, I/B, kh, kw, B_i, B_o])
 *
 * B is MLAS's block size (8 with AVX2, 16 with AVX-512; probed by runtime/nchwc.ts). Only Convs that gain are
 * lowered: group 1, kernel larger than 1×1, input and output channels multiples of B, weight not a constant.
 * (1×1 and single-channel convs measured slower once the reorders are paid.) The pass works on the serialised
 * node list only; the builder and the autodiff never see NCHWc ops.
 */
import { asBytes, type AttributeData, type ModelProtoData, type NodeProtoData, type TensorProtoData } from '../onnx/proto.js';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

export interface NchwcLoweringInfo {
  /** Shape of any value in the graph. */
  shapeOf(name: string): readonly number[];
  /** True when the value is a constant initializer (onnxruntime lowers those Convs itself). */
  isConstant(name: string): boolean;
}

const ints = (value: readonly number[]): AttributeData => ({ type: 'ints', value });
const attrInts = (n: NodeProtoData, k: string): readonly number[] | undefined => {
  const a = n.attributes[k];
  return a && a.type === 'ints' ? a.value : undefined;
};

/** Whether `n` is a Conv this pass lowers (see the file comment for the rule). */
export function nchwcEligible(n: NodeProtoData, info: NchwcLoweringInfo, block: number): boolean {
  if (n.opType !== 'Conv' || (n.domain ?? '') !== '' || block < 2) return false;
  const g = n.attributes.group;
  if (g && g.type === 'int' && g.value !== 1) return false;
  if (n.attributes.auto_pad) return false;
  const [x, w] = n.inputs;
  if (info.isConstant(w)) return false;
  const xs = info.shapeOf(x);
  const ws = info.shapeOf(w);
  if (xs.length !== 4 || ws.length !== 4) return false;
  if (ws[2] * ws[3] === 1) return false;
  return ws[0] % block === 0 && ws[1] % block === 0;
}

type Emit = (opType: string, inputs: string[], attributes?: Record<string, AttributeData>, domain?: string) => string;

/**
 * OIHW → OIHWBiBo ([O/B, I/B, k, B_i, B_o], k = kh·kw), reported back as [O, I, kh, kw]. Two batched transposes, each
 * written as MatMul(Transpose(A), I_B) so onnxruntime runs them as FusedMatMul(transA) on MLAS (0.52 ms against
 * 0.94 ms for one 5-D Transpose, which moves single floats, on a 128×128×3×3 filter, 1 thread):
 *   [O·I/B, B_i, k] → [O·I/B, k, B_i],   then   [O/B, B_o, I/B·k·B_i] → [O/B, I/B·k·B_i, B_o].
 */
function emitFilterReorder(emit: Emit, shape: (d: readonly number[]) => string, eye: () => string, w: string, [o, i, kh, kw]: readonly number[], block: number): string {
  const k = kh * kw;
  const t1 = emit('Transpose', [emit('Reshape', [w, shape([(o * i) / block, block, k])])], { perm: ints([0, 2, 1]) });
  const s1 = emit('MatMul', [t1, eye()]);
  const t2 = emit('Transpose', [emit('Reshape', [s1, shape([o / block, block, i * k])])], { perm: ints([0, 2, 1]) });
  return emit('Reshape', [emit('MatMul', [t2, eye()]), shape([o, i, kh, kw])]);
}

/** Rewrite every eligible Conv of `model` to ReorderInput → nchwc Conv → ReorderOutput (see the file comment). */
export function lowerConvsToNchwc(model: ModelProtoData, info: NchwcLoweringInfo, block: number): ModelProtoData {
  const nodes: NodeProtoData[] = [];
  const inits: TensorProtoData[] = [];
  const shapeConsts = new Map<string, string>();
  const shapeConst = (dims: readonly number[]): string => {
    const key = dims.join(',');
    let name = shapeConsts.get(key);
    if (!name) {
      name = `nchwc.shape.${key.replace(/,/g, 'x')}`;
      inits.push({ name, dtype: 'int64', dims: [dims.length], raw: asBytes(BigInt64Array.from(dims.map((d) => BigInt(d)))) });
      shapeConsts.set(key, name);
    }
    return name;
  };
  let eyeName: string | undefined;
  const eyeConst = (): string => {
    if (!eyeName) {
      eyeName = `nchwc.eye${block}`;
      const eye = new Float32Array(block * block);
      for (let q = 0; q < block; q++) eye[q * block + q] = 1;
      inits.push({ name: eyeName, dtype: 'float32', dims: [block, block], raw: asBytes(eye) });
    }
    return eyeName;
  };
  let lowered = 0;
  for (const n of model.graph.nodes) {
    if (!nchwcEligible(n, info, block)) {
      nodes.push(n);
      continue;
    }
    lowered++;
    const [x, w, bias] = n.inputs;
    const [o, i, kh, kw] = info.shapeOf(w);
    const p = `${n.name}:nchwc`;
    const emit = (opType: string, inputs: string[], attributes: Record<string, AttributeData> = {}, domain?: string): string => {
      const out = `${p}.${nodes.length}.${opType}`;
      nodes.push({ name: out, opType, domain, inputs, outputs: [out], attributes });
      return out;
    };
    const xb = emit('ReorderInput', [x], {}, NCHWC_DOMAIN);
    const wb = emitFilterReorder(emit, shapeConst, eyeConst, w, [o, i, kh, kw], block);
    const attrs: Record<string, AttributeData> = { kernel_shape: ints([kh, kw]) };
    for (const k of ['strides', 'pads', 'dilations']) {
      const v = attrInts(n, k);
      if (v) attrs[k] = ints(v);
    }
    const yb = emit('Conv', bias ? [xb, wb, bias] : [xb, wb], attrs, NCHWC_DOMAIN);
    nodes.push({ name: `${p}.out`, opType: 'ReorderOutput', domain: NCHWC_DOMAIN, inputs: [yb], outputs: [n.outputs[0]], attributes: { channels: { type: 'int', value: o } } });
  }
  if (lowered === 0) return model;
  const extraOpsets = [...(model.extraOpsets ?? []).filter((s) => s.domain !== NCHWC_DOMAIN), { domain: NCHWC_DOMAIN, version: 1 }];
  return { ...model, extraOpsets, graph: { ...model.graph, nodes, initializers: [...model.graph.initializers, ...inits] } };
}
