/**
 * Which NCHWc block size this machine's onnxruntime uses (MLAS: 8 with AVX2, 16 with AVX-512, none elsewhere), so
 * graph/nchwc.ts can lay filters out to match. Probed once per process with a real session: a ReorderInput of 8
 * channels pads them up to a whole block, so the output's channel count is the block size. Any failure (no
 * com.microsoft.nchwc kernels in this build, an unexpected size) means 0: Convs stay plain ONNX.
 */
import * as ort from 'onnxruntime-node';
import { NCHWC_DOMAIN } from '../graph/nchwc.js';
import { encodeModel } from '../onnx/proto.js';

let probe: Promise<number> | undefined;

/** The MLAS NCHWc block size (8 or 16), or 0 when NCHWc kernels are unavailable or disabled (MEDFEDPURE_NCHWC=0). */
export function nchwcBlockSize(): Promise<number> {
  if (process.env.MEDFEDPURE_NCHWC === '0') return Promise.resolve(0);
  probe ??= (async () => {
    const model = encodeModel({
      opset: 17,
      extraOpsets: [{ domain: NCHWC_DOMAIN, version: 1 }],
      graph: {
        name: 'nchwc_probe',
        nodes: [{ name: 'r', opType: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: ['x'], outputs: ['y'], attributes: {} }],
        initializers: [],
        inputs: [{ name: 'x', dtype: 'float32', dims: [1, 8, 1, 1] }],
        outputs: [{ name: 'y', dtype: 'float32', dims: [1, 8, 1, 1] }],
      },
    });
    try {
      const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], logSeverityLevel: 3 });
      const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(8), [1, 8, 1, 1]) });
      await s.release();
      const block = out.y.dims[1];
      return block === 8 || block === 16 ? block : 0;
    } catch {
      return 0;
    }
  })();
  return probe;
}
