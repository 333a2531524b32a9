/** The binary message codec: round trips, zero-copy alignment, and refusal of malformed messages. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodecError, decodeMessage, encodeMessage } from '../../../electron/common/codec.js';

describe('message codec', () => {
  it('round-trips nested values with typed arrays of every kind', () => {
    const value = {
      name: 'frame',
      n: 3,
      nothing: null,
      list: [1, 'two', { deep: new Float32Array([1.5, -2.25, 3]) }],
      u8: new Uint8Array([1, 2, 3]),
      i8: new Int8Array([-1, 2]),
      c8: new Uint8ClampedArray([255]),
      i16: new Int16Array([-300, 300]),
      u16: new Uint16Array([65535]),
      i32: new Int32Array([-7]),
      u32: new Uint32Array([4_000_000_000]),
      f64: new Float64Array([Math.PI]),
      big: new BigInt64Array([-5n]),
      ubig: new BigUint64Array([5n]),
      empty: new Float32Array(0),
      text: 'ünïcødé ✓',
    };
    const back = decodeMessage(encodeMessage(value)) as typeof value;
    assert.deepEqual(back, value);
    assert.ok(back.list[2] && (back.list[2] as { deep: Float32Array }).deep instanceof Float32Array);
    assert.ok(back.big instanceof BigInt64Array);
  });

  it('gives views on the received buffer (no copy) when aligned, and copies when not', () => {
    const msg = encodeMessage({ a: new Uint8Array([9]), b: new Float64Array([1, 2, 3]) });
    const back = decodeMessage(msg) as { b: Float64Array };
    assert.equal(back.b.buffer, msg.buffer, 'aligned: a view on the message');
    assert.equal(back.b.byteOffset % 8, 0);
    const shifted = new Uint8Array(msg.length + 1);
    shifted.set(msg, 1);
    const back2 = decodeMessage(shifted.subarray(1)) as { b: Float64Array };
    assert.deepEqual(Array.from(back2.b), [1, 2, 3]);
  });

  it('decodes a chunk at an unaligned offset of a Node Buffer from its own bytes (not the pool start)', () => {
    const msg = encodeMessage({ a: new Float64Array([1.5, -2.25]), b: new Int32Array([7, -8]) });
    for (const shift of [1, 3, 5]) {
      const pool = Buffer.alloc(msg.length + shift, 0x41); // e.g. a request body inside Node's shared pool
      pool.set(msg, shift);
      const back = decodeMessage(pool.subarray(shift)) as { a: Float64Array; b: Int32Array };
      assert.deepEqual(Array.from(back.a), [1.5, -2.25], `shift ${shift}`);
      assert.deepEqual(Array.from(back.b), [7, -8], `shift ${shift}`);
    }
  });

  it('encodes subarrays by their own bytes only, and Node Buffers as Uint8Array', () => {
    const big = new Int16Array([1, 2, 3, 4, 5]);
    const back = decodeMessage(encodeMessage({ s: big.subarray(1, 3), buf: Buffer.from([7, 8]) })) as { s: Int16Array; buf: Uint8Array };
    assert.deepEqual(Array.from(back.s), [2, 3]);
    assert.equal(back.buf.constructor, Uint8Array);
    assert.deepEqual(Array.from(back.buf), [7, 8]);
  });

  it('handles a top-level typed array and plain JSON', () => {
    assert.deepEqual(decodeMessage(encodeMessage(new Float32Array([1, 2]))), new Float32Array([1, 2]));
    assert.deepEqual(decodeMessage(encodeMessage({ a: [1, { b: 'c' }] })), { a: [1, { b: 'c' }] });
  });

  it('refuses reserved keys, bare ArrayBuffers and malformed messages', () => {
    assert.throws(() => encodeMessage({ $bin: 0 }), CodecError);
    assert.throws(() => encodeMessage({ a: new ArrayBuffer(4) }), CodecError);
    assert.throws(() => decodeMessage(new Uint8Array([1, 2])), CodecError);
    assert.throws(() => decodeMessage(new Uint8Array([255, 0, 0, 0, 1])), CodecError);
    const good = encodeMessage({ x: new Float32Array(4) });
    assert.throws(() => decodeMessage(good.subarray(0, good.length - 4)), /runs past the end/);
    const forged = new TextEncoder().encode('{"value":{"$bin":3,"type":"Uint8Array"},"chunks":[]}');
    const msg = new Uint8Array(4 + forged.length);
    new DataView(msg.buffer).setUint32(0, forged.length, true);
    msg.set(forged, 4);
    assert.throws(() => decodeMessage(msg), /Bad binary reference/);
  });
});
