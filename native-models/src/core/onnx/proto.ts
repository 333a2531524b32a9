/**
 * A minimal, dependency-free protobuf *encoder* for the subset of onnx.proto we emit:
 * ModelProto, OperatorSetIdProto, GraphProto, NodeProto, AttributeProto, TensorProto (raw_data), ValueInfoProto,
 * TypeProto.Tensor and TensorShapeProto. Field numbers follow onnx/onnx.proto (IR version 8).
 * Only writing is supported: we build graphs in TypeScript and hand the bytes to onnxruntime.
 */

/** onnx TensorProto.DataType values we use. */
export const OnnxDataType = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11 } as const;
export type OnnxDTypeName = keyof typeof OnnxDataType;

/** onnx AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

/** Growable byte buffer with protobuf primitives. */
class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned or negative int64 as a varint (negative values use 10-byte two's complement, as protobuf does). */
  varint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v < 2 ** 31) {
      let x = v;
      while (x >= 0x80) {
        this.byte((x & 0x7f) | 0x80);
        x >>>= 7;
      }
      this.byte(x);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  float32(f: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.len, f, true);
    this.len += 4;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  // Field helpers ---------------------------------------------------------------------------------------------
  int(field: number, v: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }
  str(field: number, s: string): void {
    this.tag(field, WIRE_LEN);
    this.bytes(new TextEncoder().encode(s));
  }
  msg(field: number, m: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.bytes(m);
  }
  f32(field: number, v: number): void {
    this.tag(field, WIRE_FIXED32);
    this.float32(v);
  }
}

// ---- message shapes (plain data) --------------------------------------------------------------------------------

export interface TensorProtoData {
  name: string;
  dtype: OnnxDTypeName;
  dims: readonly number[];
  /** Little-endian element bytes (Float32Array / BigInt64Array / ... viewed as bytes). */
  raw: Uint8Array;
}

export type AttributeData =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'tensor'; value: TensorProtoData };

export interface NodeProtoData {
  name: string;
  opType: string;
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Readonly<Record<string, AttributeData>>;
}

export interface ValueInfoData {
  name: string;
  dtype: OnnxDTypeName;
  dims: readonly number[];
}

export interface GraphProtoData {
  name: string;
  nodes: readonly NodeProtoData[];
  initializers: readonly TensorProtoData[];
  inputs: readonly ValueInfoData[];
  outputs: readonly ValueInfoData[];
}

export interface ModelProtoData {
  graph: GraphProtoData;
  opset: number;
  /** Extra operator sets, e.g. { domain: 'com.microsoft', version: 1 }. */
  extraOpsets?: readonly { domain: string; version: number }[];
  irVersion?: number;
  producer?: string;
}

// ---- encoders ---------------------------------------------------------------------------------------------------

export function encodeTensor(t: TensorProtoData): Uint8Array {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d); // dims (repeated int64, unpacked is accepted)
  w.int(2, OnnxDataType[t.dtype]); // data_type
  w.str(8, t.name); // name
  w.msg(9, t.raw); // raw_data
  return w.finish();
}

function encodeAttribute(name: string, a: AttributeData): Uint8Array {
  const w = new Writer();
  w.str(1, name);
  switch (a.type) {
    case 'float':
      w.f32(2, a.value);
      w.int(20, AttrType.FLOAT);
      break;
    case 'int':
      w.int(3, a.value);
      w.int(20, AttrType.INT);
      break;
    case 'string':
      w.str(4, a.value);
      w.int(20, AttrType.STRING);
      break;
    case 'tensor':
      w.msg(5, encodeTensor(a.value));
      w.int(20, AttrType.TENSOR);
      break;
    case 'floats':
      for (const f of a.value) w.f32(7, f);
      w.int(20, AttrType.FLOATS);
      break;
    case 'ints':
      for (const i of a.value) w.int(8, i);
      w.int(20, AttrType.INTS);
      break;
  }
  return w.finish();
}

function encodeNode(n: NodeProtoData): Uint8Array {
  const w = new Writer();
  for (const i of n.inputs) w.str(1, i);
  for (const o of n.outputs) w.str(2, o);
  w.str(3, n.name);
  w.str(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes)) w.msg(5, encodeAttribute(k, a));
  if (n.domain) w.str(7, n.domain);
  return w.finish();
}

function encodeValueInfo(v: ValueInfoData): Uint8Array {
  const shape = new Writer();
  for (const d of v.dims) {
    const dim = new Writer();
    dim.int(1, d); // dim_value
    shape.msg(1, dim.finish());
  }
  const tensorType = new Writer();
  tensorType.int(1, OnnxDataType[v.dtype]); // elem_type
  tensorType.msg(2, shape.finish()); // shape
  const type = new Writer();
  type.msg(1, tensorType.finish()); // TypeProto.tensor_type
  const w = new Writer();
  w.str(1, v.name);
  w.msg(2, type.finish());
  return w.finish();
}

function encodeGraph(g: GraphProtoData): Uint8Array {
  const w = new Writer();
  for (const n of g.nodes) w.msg(1, encodeNode(n));
  w.str(2, g.name);
  for (const t of g.initializers) w.msg(5, encodeTensor(t));
  for (const v of g.inputs) w.msg(11, encodeValueInfo(v));
  for (const v of g.outputs) w.msg(12, encodeValueInfo(v));
  return w.finish();
}

/** Serialise a whole ModelProto (IR version 8 by default). */
export function encodeModel(m: ModelProtoData): Uint8Array {
  const w = new Writer();
  w.int(1, m.irVersion ?? 8); // ir_version
  w.str(2, m.producer ?? 'medfedpure-native-models'); // producer_name
  w.msg(7, encodeGraph(m.graph)); // graph
  const opsets = [{ domain: '', version: m.opset }, ...(m.extraOpsets ?? [])];
  for (const o of opsets) {
    const ow = new Writer();
    if (o.domain) ow.str(1, o.domain);
    ow.int(2, o.version);
    w.msg(8, ow.finish()); // opset_import
  }
  return w.finish();
}

/** View a typed array's elements as little-endian bytes (no copy). */
export function asBytes(a: Float32Array | BigInt64Array | Int32Array | Uint8Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
