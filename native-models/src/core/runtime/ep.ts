/**
 * Execution-provider choice: try the accelerated providers onnxruntime-node was built with (CUDA, DirectML, CoreML,
 * WebGPU) in order of preference, keep the first one that can actually create a session, fall back to CPU, and
 * report which one ran. The probe is real: a tiny model is loaded on the candidate provider.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/builder.js';

export type EpName = 'cuda' | 'dml' | 'coreml' | 'webgpu' | 'cpu';

export const DEFAULT_EP_ORDER: readonly EpName[] = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

export interface EpChoice {
  /** The provider sessions will use. */
  ep: EpName;
  /** Every provider considered, with why it was not chosen. */
  tried: { ep: EpName; ok: boolean; reason?: string }[];
}

let probeModel: Uint8Array | undefined;
function tinyModel(): Uint8Array {
  if (!probeModel) {
    const b = new GraphBuilder('ep_probe');
    const x = b.input('x', [1, 4]);
    b.output(b.relu(b.add(x, x)), 'y');
    probeModel = b.serialize({ paramsAs: 'inputs' });
  }
  return probeModel;
}

/** Names onnxruntime-node lists as available in this build (bundled or loadable). */
export function availableBackends(): string[] {
  try {
    return ort.listSupportedBackends().map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

const cache = new Map<string, EpChoice>();

/**
 * Pick the best provider. `preference` narrows or reorders the candidates (e.g. ['cpu'] forces CPU);
 * 'cpu' is always appended as the last resort. Results are cached per preference list.
 */
export async function selectExecutionProvider(preference: readonly EpName[] = DEFAULT_EP_ORDER): Promise<EpChoice> {
  const order = [...preference.filter((e) => e !== 'cpu'), 'cpu'] as EpName[];
  const key = order.join(',');
  const hit = cache.get(key);
  if (hit) return hit;
  const listed = new Set(availableBackends());
  const tried: EpChoice['tried'] = [];
  for (const ep of order) {
    if (ep !== 'cpu' && !listed.has(ep)) {
      tried.push({ ep, ok: false, reason: 'not in this onnxruntime build' });
      continue;
    }
    try {
      const s = await ort.InferenceSession.create(tinyModel(), { executionProviders: [ep], logSeverityLevel: 3 });
      await s.release();
      tried.push({ ep, ok: true });
      const choice = { ep, tried };
      cache.set(key, choice);
      return choice;
    } catch (e) {
      tried.push({ ep, ok: false, reason: (e as Error).message.split('\n')[0] });
    }
  }
  throw new Error(`no execution provider could create a session: ${JSON.stringify(tried)}`);
}
