/**
 * What travels, and the conversion between Flower's ArrayRecord and the model's NamedWeights.
 *
 * Personalisation is decided by weight name, in one place (`travels`):
 *   FedPer (Arivazhagan et al. 2019)  only the shared body `body.*` travels; the classifier head `head.*` stays home;
 *   FedBN  (Li et al. 2021)           additionally, every weight under a normalisation scope (`gn`, `gn1`, `bn`, `bn2`,
 *                                     … — GroupNorm in the current classifier, BatchNorm with running statistics once
 *                                     it moves to BatchNorm) stays home, so each site keeps the statistics of its own
 *                                     scanners.
 * The default is FedPer + FedBN.
 *
 * Received arrays are checked against the local model before anything is used: exactly the expected names (no extra,
 * none missing), dtype float32, stype numpy.ndarray, the .npy shape equal to both the Array's shape and the local
 * tensor's, every value finite. Any mismatch refuses the whole message (FL_WEIGHTS_MISMATCH / FL_NONFINITE).
 */
import { createHash } from 'node:crypto';
import type { NamedWeights, TensorF32 } from '../../native-models/src/core/tensor.js';
import { FlError } from '../protocol/errors.js';
import { decodeNpyF32, encodeNpyF32 } from '../protocol/npy.js';
import { STYPE_NUMPY, type FlArray } from '../protocol/records.js';

export type Personalisation = 'fedper' | 'fedper+fedbn' | 'none';
export const DEFAULT_PERSONALISATION: Personalisation = 'fedper+fedbn';

const NORM_SCOPE = /(^|\.)(gn|bn)\d*\./;

/** Does this weight leave the site? */
export function travels(name: string, mode: Personalisation = DEFAULT_PERSONALISATION): boolean {
  if (mode === 'none') return true;
  if (!name.startsWith('body.')) return false;
  if (mode === 'fedper+fedbn' && NORM_SCOPE.test(name)) return false;
  return true;
}

/** Names of the travelling weights, in the model's canonical order. */
export function sharedNames(weights: NamedWeights, mode: Personalisation = DEFAULT_PERSONALISATION): string[] {
  return [...weights.keys()].filter((k) => travels(k, mode));
}

/** The travelling weights as Flower Arrays (.npy float32), in canonical order. */
export function toArrays(weights: NamedWeights, names: readonly string[]): Map<string, FlArray> {
  const out = new Map<string, FlArray>();
  for (const name of names) {
    const t = weights.get(name);
    if (!t) throw new FlError('FL_WEIGHTS_MISMATCH', `no local weight ${name}`);
    out.set(name, { dtype: 'float32', shape: [...t.shape], stype: STYPE_NUMPY, data: encodeNpyF32(t.shape, t.data) });
  }
  return out;
}

export function isFinite32(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}

/**
 * Received Arrays → NamedWeights, checked against the local model (see the header). `expected` are the names that
 * must arrive, `local` gives their shapes.
 */
export function fromArrays(arrays: Map<string, FlArray>, local: NamedWeights, expected: readonly string[]): NamedWeights {
  const want = new Set(expected);
  for (const name of arrays.keys()) {
    if (!want.has(name)) throw new FlError('FL_WEIGHTS_MISMATCH', `received array "${name.slice(0, 80)}" is not a shared layer of the local model`);
  }
  const out: NamedWeights = new Map();
  for (const name of expected) {
    const a = arrays.get(name);
    if (!a) throw new FlError('FL_WEIGHTS_MISMATCH', `shared layer ${name} is missing from the received arrays`);
    const t = local.get(name)!;
    if (a.dtype !== 'float32') throw new FlError('FL_WEIGHTS_MISMATCH', `${name}: dtype ${a.dtype.slice(0, 20)}, expected float32`);
    if (a.stype !== STYPE_NUMPY) throw new FlError('FL_WEIGHTS_MISMATCH', `${name}: stype ${a.stype.slice(0, 40)}, expected ${STYPE_NUMPY}`);
    const sameShape = (s: readonly number[]) => s.length === t.shape.length && s.every((d, i) => d === t.shape[i]);
    if (!sameShape(a.shape)) throw new FlError('FL_WEIGHTS_MISMATCH', `${name}: shape [${a.shape.join(', ')}], local model has [${t.shape.join(', ')}]`);
    const npy = decodeNpyF32(a.data);
    if (!sameShape(npy.shape)) throw new FlError('FL_WEIGHTS_MISMATCH', `${name}: .npy shape [${npy.shape.join(', ')}] differs from the Array's`);
    if (!isFinite32(npy.data)) throw new FlError('FL_NONFINITE', `${name}: NaN or Inf in the received values`);
    out.set(name, { shape: [...t.shape], data: npy.data });
  }
  return out;
}

/** sha256 over names, shapes and float32 bytes, in the given order: what the audit records for arrays in and out. */
export function weightsSha256(w: NamedWeights | Map<string, TensorF32>, names: readonly string[] = [...w.keys()]): string {
  const h = createHash('sha256');
  for (const n of names) {
    const t = w.get(n);
    if (!t) continue;
    h.update(`${n}\0${t.shape.join(',')}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}
