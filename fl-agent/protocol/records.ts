/**
 * Flower's message model in TypeScript: Message = metadata + (content RecordDict | error); a RecordDict maps names to
 * ArrayRecords (named Arrays: dtype, shape, stype, serialized data), MetricRecords and ConfigRecords (named scalars
 * or lists).
 *
 * Integer vs float. Flower tells them apart by Python type (int → sint64, float → double); JavaScript has one number
 * type, so here a **bigint is an integer and a number is a float**. `num-examples` must therefore be a bigint
 * (Flower's FedAvg refuses a reply whose weight is a list, and aggregates with it as an integer count).
 */
import { FlError } from './errors.js';
import { u64 } from './proto.js';

export interface FlArray {
  dtype: string;
  shape: number[];
  stype: string;
  /** The serialized array (for stype "numpy.ndarray": the whole .npy file). */
  data: Uint8Array;
}

export type MetricValue = number | bigint | number[] | bigint[];
export type ConfigValue = number | bigint | boolean | string | Uint8Array | number[] | bigint[] | boolean[] | string[] | Uint8Array[];

export type FlRecord =
  | { kind: 'array'; items: Map<string, FlArray> }
  | { kind: 'metric'; items: Map<string, MetricValue> }
  | { kind: 'config'; items: Map<string, ConfigValue> };

export type RecordDict = Map<string, FlRecord>;

export interface Metadata {
  run_id: bigint;
  message_id: string;
  src_node_id: bigint;
  dst_node_id: bigint;
  reply_to_message_id: string;
  group_id: string;
  ttl: number;
  message_type: string;
  created_at: number;
}

export interface FlMessage {
  metadata: Metadata;
  content: RecordDict | null;
  error: { code: bigint; reason: string } | null;
}

/** Flower's node id of the SuperLink itself: messages to the SuperLink's apps have dst_node_id 1. */
export const SUPERLINK_NODE_ID = 1n;
/** Flower's ErrorCode.CLIENT_APP_RAISED_EXCEPTION: what a client reports when handling a message failed. */
export const ERROR_CLIENT_APP_RAISED_EXCEPTION = 2n;
/** Reply ttl may exceed the allowed maximum by this much (floating-point slack), as Flower allows. */
export const MESSAGE_TTL_TOLERANCE = 0.1;
export const STYPE_NUMPY = 'numpy.ndarray';

export const arrayRecord = (items: Map<string, FlArray>): FlRecord => ({ kind: 'array', items });
export const metricRecord = (items: Record<string, MetricValue>): FlRecord => ({ kind: 'metric', items: new Map(Object.entries(items)) });
export const configRecord = (items: Record<string, ConfigValue>): FlRecord => ({ kind: 'config', items: new Map(Object.entries(items)) });

export function metadataToProto(m: Metadata, withId = true): Record<string, unknown> {
  return {
    run_id: m.run_id, message_id: withId ? m.message_id : '', src_node_id: m.src_node_id, dst_node_id: m.dst_node_id,
    reply_to_message_id: m.reply_to_message_id, group_id: m.group_id, ttl: m.ttl, message_type: m.message_type, created_at: m.created_at,
  };
}

export function metadataFromProto(p: Record<string, any> | null | undefined): Metadata {
  if (!p) throw new FlError('FL_BAD_MESSAGE', 'message has no metadata');
  const num = (x: unknown) => (typeof x === 'number' ? x : NaN);
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  return {
    run_id: u64(p.run_id), message_id: str(p.message_id), src_node_id: u64(p.src_node_id), dst_node_id: u64(p.dst_node_id),
    reply_to_message_id: str(p.reply_to_message_id), group_id: str(p.group_id), ttl: num(p.ttl), message_type: str(p.message_type),
    created_at: num(p.created_at),
  };
}

// ---- MetricRecord / ConfigRecord values ↔ protobuf oneofs ----

function isList<T>(v: unknown, pred: (x: unknown) => x is T): v is T[] {
  return Array.isArray(v) && v.every(pred);
}
const isNum = (x: unknown): x is number => typeof x === 'number';
const isBig = (x: unknown): x is bigint => typeof x === 'bigint';
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';
const isStr = (x: unknown): x is string => typeof x === 'string';
const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array;
const INT64_MAX = (1n << 63n) - 1n;

function intField(v: bigint): Record<string, unknown> {
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new FlError('FL_BAD_ARGUMENT', `integer ${v} does not fit 64 bits`);
  return v > INT64_MAX ? { uint64: v } : { sint64: v };
}

export function valueToProto(v: MetricValue | ConfigValue, kind: 'metric' | 'config'): Record<string, unknown> {
  if (isBig(v)) return intField(v);
  if (isNum(v)) return { double: v };
  if (kind === 'config') {
    if (isBool(v)) return { bool: v };
    if (isStr(v)) return { string: v };
    if (isBytes(v)) return { bytes: v };
  }
  if (Array.isArray(v)) {
    if (isList(v, isBig)) return (v as bigint[]).some((x) => x > INT64_MAX) ? { uint_list: { vals: v } } : { sint_list: { vals: v } };
    if (isList(v, isNum)) return { double_list: { vals: v } };
    if (kind === 'config') {
      if (isList(v, isBool)) return { bool_list: { vals: v } };
      if (isList(v, isStr)) return { string_list: { vals: v } };
      if (isList(v, isBytes)) return { bytes_list: { vals: v } };
    }
  }
  throw new FlError('FL_BAD_ARGUMENT', `a ${kind} record cannot hold ${typeof v === 'object' ? 'this list' : typeof v}`);
}

export function valueFromProto(p: Record<string, any>, kind: 'metric' | 'config'): MetricValue | ConfigValue {
  const which = p?.value as string | undefined;
  const big = (s: unknown) => {
    if (typeof s !== 'string' || !/^-?\d{1,20}$/.test(s)) throw new FlError('FL_OBJECT_MALFORMED', `bad 64-bit integer ${String(s)}`);
    return BigInt(s);
  };
  switch (which) {
    case 'double': return p.double as number;
    case 'sint64': return big(p.sint64);
    case 'uint64': return big(p.uint64);
    case 'double_list': return [...(p.double_list?.vals ?? [])] as number[];
    case 'sint_list': return (p.sint_list?.vals ?? []).map(big);
    case 'uint_list': return (p.uint_list?.vals ?? []).map(big);
  }
  if (kind === 'config') {
    switch (which) {
      case 'bool': return p.bool as boolean;
      case 'string': return p.string as string;
      case 'bytes': return new Uint8Array(p.bytes as Uint8Array);
      case 'bool_list': return [...(p.bool_list?.vals ?? [])] as boolean[];
      case 'string_list': return [...(p.string_list?.vals ?? [])] as string[];
      case 'bytes_list': return (p.bytes_list?.vals ?? []).map((b: Uint8Array) => new Uint8Array(b));
    }
  }
  throw new FlError('FL_OBJECT_MALFORMED', `${kind} record value of unknown kind ${String(which)}`);
}

/** A config value as a finite float, or undefined (accepts sint64 / double). */
export function configNumber(rec: FlRecord | undefined, key: string): number | undefined {
  if (!rec || rec.kind === 'array') return undefined;
  const v = rec.items.get(key);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}
