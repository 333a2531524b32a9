/**
 * Flower's content-addressed objects ("inflatable objects"): how a Message travels through the Fleet API.
 *
 * Each object is serialized as `"<Type> <child ids, comma-separated> <body length>\0<body>"` and its id is the hex
 * sha256 of that whole byte string. The types and their bodies:
 *
 *   Message      protobuf flwr.proto.Message with metadata (message_id left empty: the id is the object's own hash)
 *                and the error if any; the content is not in the body but is the single child (a RecordDict)
 *   RecordDict   JSON {record name: record id}             children: the distinct record ids, in first-seen order
 *   ArrayRecord  JSON {array name: array id}               children: the distinct array ids
 *   Array        JSON {"dtype", "shape", "stype", "arraychunk_ids"}: arraychunk_ids are indices into the head's
 *                child list, one per chunk in data order (equal chunks appear once as children)
 *   ArrayChunk   raw bytes, at most 5 MiB (5,242,880): consecutive slices of the Array's serialized data (.npy)
 *   MetricRecord / ConfigRecord   protobuf, no children
 *
 * JSON bodies are written as Python's json.dumps writes them (", " and ": " separators, ASCII escapes), so that our
 * ids equal those a Python peer would compute for the same content.
 *
 * `deflateMessage` turns a message into {id → bytes} plus its ObjectTree (what PushMessages announces).
 * `inflateMessage` does the reverse from pulled bytes and trusts nothing: every object must hash to its id, every head
 * must parse and name the children the tree names, bodies must have the declared length and the expected type, and the
 * total size and object count stay under the caller's caps.
 */
import { createHash } from 'node:crypto';
import { FlError } from './errors.js';
import { decode, encode } from './proto.js';
import {
  metadataFromProto, metadataToProto, valueFromProto, valueToProto,
  type FlArray, type FlMessage, type FlRecord, type RecordDict,
} from './records.js';

/** Flower's FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE. */
export const MAX_ARRAY_CHUNK_BYTES = 5_242_880;

export interface ObjectTree {
  object_id: string;
  children: ObjectTree[];
}

export type ObjectType = 'Message' | 'RecordDict' | 'ArrayRecord' | 'Array' | 'ArrayChunk' | 'MetricRecord' | 'ConfigRecord';
const OBJECT_TYPES = new Set<string>(['Message', 'RecordDict', 'ArrayRecord', 'Array', 'ArrayChunk', 'MetricRecord', 'ConfigRecord']);

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const isObjectId = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

/** Python's json.dumps(value) for strings, integers, lists and plain objects (the shapes our bodies use). */
export function pythonJson(v: unknown): string {
  if (typeof v === 'string') {
    return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new FlError('FL_BAD_ARGUMENT', 'pythonJson: only integers are written');
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${pythonJson(k)}: ${pythonJson(x)}`).join(', ')}}`;
  throw new FlError('FL_BAD_ARGUMENT', `pythonJson: cannot write ${typeof v}`);
}

/** Serialize one object: head + NUL + body. */
export function objectBytes(type: ObjectType, childIds: readonly string[], body: Uint8Array): Uint8Array {
  const head = utf8.encode(`${type} ${childIds.join(',')} ${body.length}`);
  const out = new Uint8Array(head.length + 1 + body.length);
  out.set(head, 0);
  out[head.length] = 0;
  out.set(body, head.length + 1);
  return out;
}

export interface ParsedObject {
  type: ObjectType;
  children: string[];
  body: Uint8Array;
}

/** Parse head and body of one object (no hash check: see verifyObject). */
export function parseObject(bytes: Uint8Array, where = 'object'): ParsedObject {
  const bad = (why: string) => new FlError('FL_OBJECT_MALFORMED', `${where}: ${why}`);
  const nul = bytes.indexOf(0);
  if (nul < 0 || nul > 200_000) throw bad('no head/body divider');
  let head: string;
  try {
    head = utf8d.decode(bytes.subarray(0, nul));
  } catch {
    throw bad('head is not UTF-8');
  }
  const parts = head.split(' ');
  if (parts.length !== 3) throw bad(`head "${head.slice(0, 80)}" is not "<type> <children> <length>"`);
  const [type, kids, len] = parts;
  if (!OBJECT_TYPES.has(type)) throw bad(`unknown object type "${type.slice(0, 40)}"`);
  const children = kids === '' ? [] : kids.split(',');
  if (!children.every(isObjectId)) throw bad('head names a child that is not a sha256 id');
  if (!/^\d{1,12}$/.test(len)) throw bad(`bad body length "${len.slice(0, 20)}"`);
  const body = bytes.subarray(nul + 1);
  if (body.length !== Number(len)) throw bad(`body is ${body.length} bytes, head says ${len}`);
  return { type: type as ObjectType, children, body };
}

/** Throws FL_OBJECT_HASH_MISMATCH unless sha256(bytes) === id. */
export function verifyObject(id: string, bytes: Uint8Array): void {
  const got = sha256Hex(bytes);
  if (got !== id) throw new FlError('FL_OBJECT_HASH_MISMATCH', `object ${id.slice(0, 12)}… hashes to ${got.slice(0, 12)}…`);
}

// ---------------------------------------------------------------------------------------------------------------
// Deflate
// ---------------------------------------------------------------------------------------------------------------

export interface Deflated {
  id: string;
  /** Every object of the message (the message itself included), id → bytes. */
  objects: Map<string, Uint8Array>;
  tree: ObjectTree;
}

class Deflater {
  readonly objects = new Map<string, Uint8Array>();

  private put(type: ObjectType, children: ObjectTree[], body: Uint8Array): ObjectTree {
    const bytes = objectBytes(type, children.map((c) => c.object_id), body);
    const id = sha256Hex(bytes);
    this.objects.set(id, bytes);
    return { object_id: id, children };
  }

  array(a: FlArray): ObjectTree {
    const chunks: ObjectTree[] = [];
    const unique: ObjectTree[] = [];
    const index = new Map<string, number>();
    // As Flower: empty data has no chunks at all.
    for (let off = 0; off < a.data.length; off += MAX_ARRAY_CHUNK_BYTES) {
      const t = this.put('ArrayChunk', [], a.data.subarray(off, Math.min(off + MAX_ARRAY_CHUNK_BYTES, a.data.length)));
      chunks.push(t);
      if (!index.has(t.object_id)) {
        index.set(t.object_id, unique.length);
        unique.push(t);
      }
    }
    const body = pythonJson({ dtype: a.dtype, shape: a.shape, stype: a.stype, arraychunk_ids: chunks.map((c) => index.get(c.object_id)!) });
    return this.put('Array', unique, utf8.encode(body));
  }

  record(r: FlRecord): ObjectTree {
    if (r.kind === 'array') {
      const refs: Record<string, string> = {};
      const kids = new Map<string, ObjectTree>();
      for (const [name, a] of r.items) {
        const t = this.array(a);
        refs[name] = t.object_id;
        if (!kids.has(t.object_id)) kids.set(t.object_id, t);
      }
      return this.put('ArrayRecord', [...kids.values()], utf8.encode(pythonJson(refs)));
    }
    const items = [...r.items].map(([key, v]) => ({ key, value: valueToProto(v, r.kind) }));
    return this.put(r.kind === 'metric' ? 'MetricRecord' : 'ConfigRecord', [], encode(r.kind === 'metric' ? 'MetricRecord' : 'ConfigRecord', { items }));
  }

  recordDict(rd: RecordDict): ObjectTree {
    const refs: Record<string, string> = {};
    const kids = new Map<string, ObjectTree>();
    for (const [name, r] of rd) {
      const t = this.record(r);
      refs[name] = t.object_id;
      if (!kids.has(t.object_id)) kids.set(t.object_id, t);
    }
    return this.put('RecordDict', [...kids.values()], utf8.encode(pythonJson(refs)));
  }

  message(m: FlMessage): ObjectTree {
    if ((m.content === null) === (m.error === null)) throw new FlError('FL_BAD_ARGUMENT', 'a message has either content or an error');
    const kids = m.content ? [this.recordDict(m.content)] : [];
    const body = encode('Message', { metadata: metadataToProto(m.metadata, false), ...(m.error ? { error: { code: m.error.code, reason: m.error.reason } } : {}) });
    return this.put('Message', kids, body);
  }
}

/** Message → objects + tree; the id is the message's object id (its message_id once sent). */
export function deflateMessage(m: FlMessage): Deflated {
  const d = new Deflater();
  const tree = d.message(m);
  return { id: tree.object_id, objects: d.objects, tree };
}

/** All ids of a tree (post-order, children before parents, each id once). */
export function treeIds(tree: ObjectTree, out: string[] = [], seen = new Set<string>(), depth = 0): string[] {
  if (depth > 8) throw new FlError('FL_OBJECT_MALFORMED', 'object tree deeper than a Message can be');
  if (!tree || !isObjectId(tree.object_id) || !Array.isArray(tree.children)) throw new FlError('FL_OBJECT_MALFORMED', 'object tree node without a valid id');
  for (const c of tree.children) treeIds(c, out, seen, depth + 1);
  if (!seen.has(tree.object_id)) {
    seen.add(tree.object_id);
    out.push(tree.object_id);
  }
  return out;
}

/** A plain ObjectTree from decode() output. */
export function treeFromProto(p: any): ObjectTree {
  return { object_id: String(p?.object_id ?? ''), children: Array.isArray(p?.children) ? p.children.map(treeFromProto) : [] };
}

// ---------------------------------------------------------------------------------------------------------------
// Inflate (verifying)
// ---------------------------------------------------------------------------------------------------------------

export interface InflateLimits {
  /** Sum of all object sizes of one message. */
  maxTotalBytes: number;
  /** Number of distinct objects of one message. */
  maxObjects: number;
}

export const DEFAULT_INFLATE_LIMITS: InflateLimits = { maxTotalBytes: 256 * 1024 * 1024, maxObjects: 20_000 };

const MAX_JSON_BODY = 4 * 1024 * 1024;

function jsonBody(p: ParsedObject, where: string): unknown {
  if (p.body.length > MAX_JSON_BODY) throw new FlError('FL_PAYLOAD_TOO_LARGE', `${where}: JSON body of ${p.body.length} bytes`);
  try {
    return JSON.parse(utf8d.decode(p.body));
  } catch {
    throw new FlError('FL_OBJECT_MALFORMED', `${where}: body is not JSON`);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a), sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

class Inflater {
  constructor(private readonly get: (id: string) => Uint8Array) {}

  private load(tree: ObjectTree, expected: ObjectType | ObjectType[]): ParsedObject {
    const id = tree.object_id;
    const bytes = this.get(id);
    verifyObject(id, bytes);
    const p = parseObject(bytes, `object ${id.slice(0, 12)}…`);
    const ok = Array.isArray(expected) ? expected.includes(p.type) : p.type === expected;
    if (!ok) throw new FlError('FL_OBJECT_MALFORMED', `object ${id.slice(0, 12)}… is a ${p.type}, expected ${String(expected)}`);
    if (!sameSet(p.children, tree.children.map((c) => c.object_id)) || p.children.length !== tree.children.length) {
      throw new FlError('FL_OBJECT_MALFORMED', `object ${id.slice(0, 12)}…: its head's children differ from the object tree`);
    }
    return p;
  }

  private child(tree: ObjectTree, id: string): ObjectTree {
    const c = tree.children.find((t) => t.object_id === id);
    if (!c) throw new FlError('FL_OBJECT_MALFORMED', `object ${tree.object_id.slice(0, 12)}… refers to ${id.slice(0, 12)}…, not among its children`);
    return c;
  }

  array(tree: ObjectTree): FlArray {
    const p = this.load(tree, 'Array');
    const j = jsonBody(p, 'Array') as Record<string, unknown>;
    const { dtype, shape, stype, arraychunk_ids: idx } = j ?? {};
    if (typeof dtype !== 'string' || typeof stype !== 'string' || !Array.isArray(shape) || !Array.isArray(idx)) {
      throw new FlError('FL_OBJECT_MALFORMED', 'Array body lacks dtype, shape, stype or arraychunk_ids');
    }
    if (!shape.every((d) => Number.isInteger(d) && d >= 0) || shape.length > 16) throw new FlError('FL_OBJECT_MALFORMED', 'Array shape is not a list of sizes');
    if (!idx.every((i) => Number.isInteger(i) && i >= 0 && i < p.children.length)) throw new FlError('FL_OBJECT_MALFORMED', 'Array chunk index out of range');
    if (!sameSet(idx.map((i: number) => p.children[i]), p.children)) throw new FlError('FL_OBJECT_MALFORMED', 'Array does not use every child chunk');
    const parts = (idx as number[]).map((i) => {
      const c = this.load(this.child(tree, p.children[i]), 'ArrayChunk');
      if (c.body.length > MAX_ARRAY_CHUNK_BYTES) throw new FlError('FL_PAYLOAD_TOO_LARGE', `array chunk of ${c.body.length} bytes (max ${MAX_ARRAY_CHUNK_BYTES})`);
      return c.body;
    });
    const total = parts.reduce((s, b) => s + b.length, 0);
    const data = new Uint8Array(total);
    let off = 0;
    for (const b of parts) {
      data.set(b, off);
      off += b.length;
    }
    return { dtype, shape: shape as number[], stype, data };
  }

  record(tree: ObjectTree): FlRecord {
    const p = this.load(tree, ['ArrayRecord', 'MetricRecord', 'ConfigRecord']);
    if (p.type === 'ArrayRecord') {
      const refs = jsonBody(p, 'ArrayRecord');
      if (!refs || typeof refs !== 'object' || Array.isArray(refs)) throw new FlError('FL_OBJECT_MALFORMED', 'ArrayRecord body is not an object');
      const items = new Map<string, FlArray>();
      const used: string[] = [];
      for (const [name, id] of Object.entries(refs as Record<string, unknown>)) {
        if (!isObjectId(id)) throw new FlError('FL_OBJECT_MALFORMED', `ArrayRecord entry ${name} is not an object id`);
        used.push(id);
        items.set(name, this.array(this.child(tree, id)));
      }
      if (!sameSet(used, p.children)) throw new FlError('FL_OBJECT_MALFORMED', 'ArrayRecord children differ from its entries');
      return { kind: 'array', items };
    }
    if (p.children.length) throw new FlError('FL_OBJECT_MALFORMED', `${p.type} has children`);
    const kind = p.type === 'MetricRecord' ? 'metric' : 'config';
    let msg: Record<string, any>;
    try {
      msg = decode(p.type === 'MetricRecord' ? 'MetricRecord' : 'ConfigRecord', p.body);
    } catch {
      throw new FlError('FL_OBJECT_MALFORMED', `${p.type} body is not valid protobuf`);
    }
    const items = new Map<string, any>();
    for (const it of msg.items ?? []) items.set(String(it.key), valueFromProto(it.value, kind));
    return { kind, items } as FlRecord;
  }

  recordDict(tree: ObjectTree): RecordDict {
    const p = this.load(tree, 'RecordDict');
    const refs = jsonBody(p, 'RecordDict');
    if (!refs || typeof refs !== 'object' || Array.isArray(refs)) throw new FlError('FL_OBJECT_MALFORMED', 'RecordDict body is not an object');
    const out: RecordDict = new Map();
    const used: string[] = [];
    for (const [name, id] of Object.entries(refs as Record<string, unknown>)) {
      if (!isObjectId(id)) throw new FlError('FL_OBJECT_MALFORMED', `RecordDict entry ${name} is not an object id`);
      used.push(id);
      out.set(name, this.record(this.child(tree, id)));
    }
    if (!sameSet(used, p.children)) throw new FlError('FL_OBJECT_MALFORMED', 'RecordDict children differ from its entries');
    return out;
  }

  message(tree: ObjectTree): FlMessage {
    const p = this.load(tree, 'Message');
    let pm: Record<string, any>;
    try {
      pm = decode('Message', p.body);
    } catch {
      throw new FlError('FL_OBJECT_MALFORMED', 'Message body is not valid protobuf');
    }
    const metadata = metadataFromProto(pm.metadata);
    metadata.message_id = tree.object_id;
    const error = pm.error ? { code: BigInt(String(pm.error.code ?? '0')), reason: String(pm.error.reason ?? '') } : null;
    if (error && p.children.length) throw new FlError('FL_OBJECT_MALFORMED', 'an error Message has content');
    if (!error && p.children.length !== 1) throw new FlError('FL_OBJECT_MALFORMED', `a Message has ${p.children.length} content objects, expected 1`);
    const content = error ? null : this.recordDict(tree.children[0]);
    return { metadata, content, error };
  }
}

/**
 * Rebuild a message from its tree and pulled object bytes (id → bytes), verifying everything (see the header).
 * `objects` may hold exactly the tree's ids; anything missing is FL_OBJECT_MISSING.
 */
export function inflateMessage(tree: ObjectTree, objects: Map<string, Uint8Array>, limits: InflateLimits = DEFAULT_INFLATE_LIMITS): FlMessage {
  const ids = treeIds(tree);
  if (ids.length > limits.maxObjects) throw new FlError('FL_PAYLOAD_TOO_LARGE', `message has ${ids.length} objects (max ${limits.maxObjects})`);
  let total = 0;
  for (const id of ids) {
    const b = objects.get(id);
    if (!b) throw new FlError('FL_OBJECT_MISSING', `object ${id.slice(0, 12)}… was not received`);
    total += b.length;
  }
  if (total > limits.maxTotalBytes) throw new FlError('FL_PAYLOAD_TOO_LARGE', `message is ${total} bytes (max ${limits.maxTotalBytes})`);
  return new Inflater((id) => objects.get(id)!).message(tree);
}
