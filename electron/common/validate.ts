/**
 * Hand-written runtime validators for API requests: a few small combinators. A request that does not match —
 * wrong type, missing field, unknown field, out-of-range number — is refused with ApiError BAD_REQUEST naming
 * the offending path (e.g. `files[2].bytes`).
 */
import { ApiError } from './api-error.js';

export type Check<T> = (value: unknown, path: string) => T;

const fail = (path: string, expected: string): never => {
  throw new ApiError('BAD_REQUEST', `${path || 'request'}: expected ${expected}`);
};

export function string(opts: { min?: number; max?: number } = {}): Check<string> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 10_000;
  return (v, path) => (typeof v === 'string' && v.length >= min && v.length <= max ? v : fail(path, `a string of ${min}..${max} characters`));
}

export function integer(opts: { min?: number; max?: number } = {}): Check<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return (v, path) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(path, `an integer in ${min}..${max}`));
}

export function bytes(opts: { max?: number } = {}): Check<Uint8Array> {
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return (v, path) => (v instanceof Uint8Array && v.byteLength <= max ? v : fail(path, `a Uint8Array of at most ${max} bytes`));
}

export function arrayOf<T>(item: Check<T>, opts: { min?: number; max?: number } = {}): Check<T[]> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 100_000;
  return (v, path) => {
    if (!Array.isArray(v) || v.length < min || v.length > max) return fail(path, `an array of ${min}..${max} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
}

const OPTIONAL = Symbol('optional');
export interface Optional<T> {
  [OPTIONAL]: true;
  check: Check<T>;
}
export function optional<T>(check: Check<T>): Optional<T> {
  return { [OPTIONAL]: true, check };
}

type Shape = Record<string, Check<unknown> | Optional<unknown>>;
type Out<S extends Shape> = {
  [K in keyof S as S[K] extends Optional<unknown> ? never : K]: S[K] extends Check<infer T> ? T : never;
} & {
  [K in keyof S as S[K] extends Optional<unknown> ? K : never]?: S[K] extends Optional<infer T> ? T : never;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** An object with exactly these fields (optional ones may be absent or undefined); anything else is refused. */
export function object<S extends Shape>(shape: S): Check<Out<S>> {
  return (v, path) => {
    if (!isPlainObject(v)) return fail(path, 'an object');
    for (const key of Object.keys(v)) {
      if (!Object.prototype.hasOwnProperty.call(shape, key)) throw new ApiError('BAD_REQUEST', `${path ? `${path}.` : ''}${key}: unknown field`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(shape)) {
      const p = path ? `${path}.${key}` : key;
      if (OPTIONAL in spec) {
        if (v[key] !== undefined) out[key] = spec.check(v[key], p);
      } else {
        if (!(key in v)) throw new ApiError('BAD_REQUEST', `${p}: required field missing`);
        out[key] = (spec as Check<unknown>)(v[key], p);
      }
    }
    return out as Out<S>;
  };
}

/** A DICOM UID: 1..64 characters of digits and dots (PS3.5 §9.1). */
export const UID: Check<string> = (v, path) =>
  typeof v === 'string' && v.length >= 1 && v.length <= 64 && /^[0-9.]+$/.test(v) ? v : fail(path, 'a DICOM UID (1..64 digits and dots)');
