import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, deriveSeed, mix32 } from '../../../../native-models/src/core/rng.js';

test('mulberry32 stream is pinned (identical on every machine)', () => {
  const r = new Rng(42);
  assert.deepEqual([r.nextU32(), r.nextU32(), r.nextU32()], [763744907, 2711839145, 2121928412]);
  assert.equal(deriveSeed(42, 1, 0), 3189683101);
});

test('state save/restore resumes the stream exactly', () => {
  const a = new Rng(7);
  for (let i = 0; i < 10; i++) a.next();
  const b = Rng.fromState(a.state);
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
});

test('uniform, int and normal stay in range; int is unbiased enough', () => {
  const r = new Rng(1);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    counts[r.int(3)]++;
    assert.ok(Number.isFinite(r.normal()));
  }
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `count ${c}`);
  assert.throws(() => r.int(0), RangeError);
  const z = new Float64Array(20001);
  new Rng(4).fillNormal(z, 2);
  const mean = z.reduce((a, b) => a + b, 0) / z.length;
  const sd = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
  assert.ok(Math.abs(mean) < 0.06 && Math.abs(sd - 2) < 0.06, `mean ${mean} sd ${sd}`);
});

test('shuffle is a permutation and seed-determined', () => {
  const a = new Rng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
  const b = new Rng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notEqual(mix32(42), mix32(43));
});
