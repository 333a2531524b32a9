/** Fleet protocol pieces: .npy, content-addressed objects (round trip and every refusal), auth metadata, node key file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtemp, stat, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpyF32, encodeNpyF32 } from '../../../fl-agent/protocol/npy.js';
import {
  deflateMessage, inflateMessage, objectBytes, parseObject, pythonJson, treeIds, MAX_ARRAY_CHUNK_BYTES, sha256Hex,
} from '../../../fl-agent/protocol/objects.js';
import { arrayRecord, configRecord, metricRecord, STYPE_NUMPY, type FlMessage } from '../../../fl-agent/protocol/records.js';
import { authEntries, generateNodeKey, isoTimestamp, loadOrCreateNodeKey, openSshPublicKey, verifyAuthEntries } from '../../../fl-agent/protocol/auth.js';
import { FlError } from '../../../fl-agent/protocol/errors.js';

const code = (c: string) => (e: unknown) => e instanceof FlError && e.code === c;

function message(arrays: Map<string, Float32Array | { shape: number[]; data: Float32Array }>): FlMessage {
  const items = new Map();
  for (const [k, v] of arrays) {
    const t = v instanceof Float32Array ? { shape: [v.length], data: v } : v;
    items.set(k, { dtype: 'float32', shape: t.shape, stype: STYPE_NUMPY, data: encodeNpyF32(t.shape, t.data) });
  }
  return {
    metadata: { run_id: 18446744073709551557n, message_id: '', src_node_id: 1n, dst_node_id: 1234567890123456789n, reply_to_message_id: '', group_id: '3', ttl: 600, message_type: 'train', created_at: 1_780_000_000.5 },
    content: new Map([
      ['arrays', arrayRecord(items)],
      ['config', configRecord({ lr: 0.01, 'server-round': 3n, flag: false, name: 'ü', big: 18446744073709551615n })],
      ['metrics', metricRecord({ 'num-examples': 12n, loss: 0.5, hist: [1.5, 2] })],
    ]),
    error: null,
  };
}

test('npy: numpy 1.0 layout (64-byte aligned header), round trip, narrow reader', () => {
  const b = encodeNpyF32([2, 3], Float32Array.from([1, 2, 3, 4, 5, -6.5]));
  assert.equal(Buffer.from(b.subarray(0, 6)).toString('latin1'), '\x93NUMPY');
  const hlen = b[8] | (b[9] << 8);
  assert.equal((10 + hlen) % 64, 0);
  assert.match(Buffer.from(b.subarray(10, 10 + hlen)).toString('ascii'), /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
  assert.deepEqual(decodeNpyF32(b), { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) });
  assert.match(Buffer.from(encodeNpyF32([4], new Float32Array(4))).toString('latin1'), /'shape': \(4,\)/);
  const f8 = Buffer.from(b);
  f8.write("'<f8'", Buffer.from(b).indexOf("'<f4'"), 'latin1');
  assert.throws(() => decodeNpyF32(f8), code('FL_NPY_UNSUPPORTED'));
  assert.throws(() => decodeNpyF32(b.subarray(0, b.length - 1)), code('FL_NPY_UNSUPPORTED'));
  assert.throws(() => decodeNpyF32(new Uint8Array(20)), code('FL_NPY_UNSUPPORTED'));
});

test('pythonJson writes what json.dumps writes', () => {
  assert.equal(pythonJson({ dtype: 'float32', shape: [3, 4], stype: 'numpy.ndarray', arraychunk_ids: [0] }),
    '{"dtype": "float32", "shape": [3, 4], "stype": "numpy.ndarray", "arraychunk_ids": [0]}');
  assert.equal(pythonJson({ 'ü': 'a"b' }), '{"\\u00fc": "a\\"b"}');
});

test('object format: "<Type> <children> <len>\\0<body>", id = sha256 of the whole', () => {
  const b = objectBytes('ArrayChunk', [], new Uint8Array([7, 8, 9]));
  assert.deepEqual([...b], [...Buffer.from('ArrayChunk  3\0', 'latin1'), 7, 8, 9]);
  assert.equal(sha256Hex(b), createHash('sha256').update(b).digest('hex'));
  const p = parseObject(b);
  assert.equal(p.type, 'ArrayChunk');
  assert.deepEqual(p.children, []);
  assert.throws(() => parseObject(Buffer.from('ArrayChunk  4\0abc')), code('FL_OBJECT_MALFORMED'));
  assert.throws(() => parseObject(Buffer.from('Pickle  3\0abc')), code('FL_OBJECT_MALFORMED'));
});

test('deflate → inflate round trip, with the structure Flower uses', () => {
  const m = message(new Map([['body.a', Float32Array.from([1, 2, 3])], ['body.b', Float32Array.from([1, 2, 3])]]));
  const d = deflateMessage(m);
  assert.equal(d.tree.object_id, d.id);
  const root = parseObject(d.objects.get(d.id)!);
  assert.equal(root.type, 'Message');
  assert.equal(root.children.length, 1);
  const rd = parseObject(d.objects.get(root.children[0])!);
  assert.equal(rd.type, 'RecordDict');
  const refs = JSON.parse(Buffer.from(rd.body).toString());
  assert.deepEqual(Object.keys(refs), ['arrays', 'config', 'metrics']);
  const ar = parseObject(d.objects.get(refs.arrays)!);
  // two equal arrays are one child object
  assert.equal(ar.children.length, 1);
  const arr = parseObject(d.objects.get(ar.children[0])!);
  assert.match(Buffer.from(arr.body).toString(), /^\{"dtype": "float32", "shape": \[3\], "stype": "numpy.ndarray", "arraychunk_ids": \[0\]\}$/);
  for (const [id, bytes] of d.objects) assert.equal(sha256Hex(bytes), id);

  const back = inflateMessage(d.tree, d.objects);
  assert.equal(back.metadata.message_id, d.id);
  assert.equal(back.metadata.run_id, 18446744073709551557n);
  assert.equal(back.metadata.dst_node_id, 1234567890123456789n);
  assert.equal(back.metadata.group_id, '3');
  const cfg = back.content!.get('config')!;
  assert.equal(cfg.kind, 'config');
  assert.deepEqual([...cfg.items], [['lr', 0.01], ['server-round', 3n], ['flag', false], ['name', 'ü'], ['big', 18446744073709551615n]]);
  const met = back.content!.get('metrics')!;
  assert.deepEqual([...met.items], [['num-examples', 12n], ['loss', 0.5], ['hist', [1.5, 2]]]);
  const arrays = back.content!.get('arrays')!;
  assert.equal(arrays.kind, 'array');
  if (arrays.kind === 'array') assert.deepEqual(decodeNpyF32(arrays.items.get('body.b')!.data).data, Float32Array.from([1, 2, 3]));
});

test('arrays over 5 MiB are chunked (≤ 5 MiB each) and reassembled; zero chunks repeat as one child', () => {
  const n = 4_000_000; // 16 MB of float32 zeros: 4 chunks; the middle two (all zeros, full size) are identical
  const m = message(new Map([['body.big', new Float32Array(n)]]));
  const d = deflateMessage(m);
  const chunks = [...d.objects.values()].map((b) => parseObject(b)).filter((p) => p.type === 'ArrayChunk');
  assert.ok(chunks.every((c) => c.body.length <= MAX_ARRAY_CHUNK_BYTES));
  const arrObj = [...d.objects.values()].map((b) => parseObject(b)).find((p) => p.type === 'Array')!;
  assert.equal(arrObj.children.length, 3);
  assert.deepEqual(JSON.parse(Buffer.from(arrObj.body).toString()).arraychunk_ids, [0, 1, 1, 2]);
  const back = inflateMessage(d.tree, d.objects);
  const a = back.content!.get('arrays')!;
  if (a.kind === 'array') assert.equal(decodeNpyF32(a.items.get('body.big')!.data).data.length, n);
});

test('inflate refuses tampering: hash mismatch, missing object, wrong type, tree/head disagreement, caps', () => {
  const m = message(new Map([['body.a', Float32Array.from([1, 2, 3])]]));
  const d = deflateMessage(m);
  const chunkId = [...d.objects].find(([, b]) => parseObject(b).type === 'ArrayChunk')![0];

  const tampered = new Map(d.objects);
  const bad = new Uint8Array(tampered.get(chunkId)!);
  bad[bad.length - 1] ^= 1;
  tampered.set(chunkId, bad);
  assert.throws(() => inflateMessage(d.tree, tampered), code('FL_OBJECT_HASH_MISMATCH'));

  const missing = new Map(d.objects);
  missing.delete(chunkId);
  assert.throws(() => inflateMessage(d.tree, missing), code('FL_OBJECT_MISSING'));

  // a tree that leaves out a child the head names
  const pruned = structuredClone(d.tree);
  pruned.children[0].children = [];
  assert.throws(() => inflateMessage(pruned, d.objects), code('FL_OBJECT_MALFORMED'));

  // a tree that puts a chunk where the RecordDict should be
  const swapped = { object_id: d.id, children: [{ object_id: chunkId, children: [] }] };
  assert.throws(() => inflateMessage(swapped, d.objects), code('FL_OBJECT_MALFORMED'));

  assert.throws(() => inflateMessage(d.tree, d.objects, { maxTotalBytes: 100, maxObjects: 100 }), code('FL_PAYLOAD_TOO_LARGE'));
  assert.throws(() => inflateMessage(d.tree, d.objects, { maxTotalBytes: 1e9, maxObjects: 3 }), code('FL_PAYLOAD_TOO_LARGE'));
  assert.equal(treeIds(d.tree).at(-1), d.id);
});

test('auth: P-384 PEM key, Python-style UTC timestamp, DER ECDSA-SHA256 signature; stale or forged refused', () => {
  const k = generateNodeKey();
  assert.match(Buffer.from(k.publicKeyPem).toString(), /^-----BEGIN PUBLIC KEY-----/);
  assert.match(isoTimestamp(new Date('2026-12-06T09:20:00.123Z')), /^2026-12-06T09:20:00\.123000\+00:00$/);
  const a = authEntries(k);
  assert.equal(a.signature[0], 0x30); // DER SEQUENCE
  assert.deepEqual(verifyAuthEntries(a.publicKey, a.timestamp, a.signature), { ok: true });
  assert.equal(verifyAuthEntries(generateNodeKey().publicKeyPem, a.timestamp, a.signature).ok, false);
  const old = authEntries(k, new Date(Date.now() - 400_000));
  assert.equal(verifyAuthEntries(old.publicKey, old.timestamp, old.signature).ok, false);
});

test('node key: created 0600, reloaded identical, refused when others can read it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-key-'));
  try {
    const p = join(dir, 'sub', 'node.key');
    const k1 = await loadOrCreateNodeKey(p);
    assert.equal((await stat(p)).mode & 0o777, 0o600);
    const k2 = await loadOrCreateNodeKey(p);
    assert.deepEqual(k2.publicKeyPem, k1.publicKeyPem);
    await chmod(p, 0o644);
    await assert.rejects(loadOrCreateNodeKey(p), code('FL_KEY'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// When this machine has Python with numpy (CI may not), check the two Python-defined formats against Python itself.
const py = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
test('against Python: .npy bytes equal numpy.save, JSON bodies equal json.dumps', { skip: py.status !== 0 ? 'python3 with numpy not available' : false }, () => {
  const script = [
    'import io, json, sys, numpy as np',
    'b = io.BytesIO(); np.save(b, np.arange(6, dtype=np.float32).reshape(2, 3) / 7, allow_pickle=False)',
    'sys.stdout.write(b.getvalue().hex() + "\\n")',
    'sys.stdout.write(json.dumps({"dtype": "float32", "shape": (2, 3), "stype": "numpy.ndarray", "arraychunk_ids": [0, 0, 1], "\\u00fc": "x"}))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [npyHex, json] = r.stdout.split('\n');
  const mine = encodeNpyF32([2, 3], Float32Array.from([0, 1, 2, 3, 4, 5], (x) => x / 7));
  assert.equal(Buffer.from(mine).toString('hex'), npyHex);
  assert.equal(pythonJson({ dtype: 'float32', shape: [2, 3], stype: 'numpy.ndarray', arraychunk_ids: [0, 0, 1], 'ü': 'x' }), json);
});

const pyCrypto = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
test('against Python cryptography: the auth metadata verifies as Flower\'s interceptor checks it; the OpenSSH key loads', { skip: pyCrypto.status !== 0 ? 'python3 with cryptography not available' : false }, () => {
  const k = generateNodeKey();
  const a = authEntries(k);
  const script = [
    'import sys, datetime',
    'from cryptography.hazmat.primitives import hashes, serialization',
    'from cryptography.hazmat.primitives.asymmetric import ec',
    'pem, ts, sig, ssh = [bytes.fromhex(x) for x in sys.argv[1:5]]',
    'pk = serialization.load_pem_public_key(pem)',
    'pk.verify(sig, ts, ec.ECDSA(hashes.SHA256()))',
    'diff = (datetime.datetime.now(datetime.timezone.utc) - datetime.datetime.fromisoformat(ts.decode("ascii"))).total_seconds()',
    'assert -5 < diff < 305, diff',
    'k2 = serialization.load_ssh_public_key(ssh)',
    'assert k2.public_numbers() == pk.public_numbers()',
    'print(pk.curve.name)',
  ].join('\n');
  const hex = (b: Uint8Array | string) => Buffer.from(b).toString('hex');
  const r = spawnSync('python3', ['-c', script, hex(a.publicKey), hex(a.timestamp), hex(a.signature), hex(openSshPublicKey(k))], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'secp384r1');
});
