/** The viewer's frame LRU and loader: byte bound, dedup, urgent-before-prefetch, bounded concurrency. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiClient, Frame } from '../../../electron/features/api.js';
import { FrameCache, FrameLoader, nearestLoaded, outwardOrder } from '../../../renderer/src/viewer/frame-cache.js';

function makeFrame(uid: string, n = 16): Frame {
  return { sopInstanceUid: uid, rows: 4, columns: n / 4, pixels: new Float32Array(n), minValue: 0, maxValue: 0, photometricInterpretation: 'MONOCHROME2' };
}

/** A fake client whose frame requests resolve only when the test says so. */
function fakeClient() {
  const waiting = new Map<string, Array<(f: Frame) => void>>();
  const calls: string[] = [];
  let maxInFlight = 0;
  let inFlight = 0;
  const client: ApiClient = {
    invoke: ((method: string, req: { sopInstanceUid: string }) => {
      assert.equal(method, 'instances.frame');
      calls.push(req.sopInstanceUid);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<Frame>((resolve) => {
        const list = waiting.get(req.sopInstanceUid) ?? [];
        list.push((f) => { inFlight--; resolve(f); });
        waiting.set(req.sopInstanceUid, list);
      });
    }) as ApiClient['invoke'],
    on: () => () => {},
  };
  const release = async (uid: string) => {
    const list = waiting.get(uid);
    assert.ok(list && list.length > 0, `no request pending for ${uid}`);
    waiting.delete(uid);
    for (const r of list) r(makeFrame(uid));
    await new Promise((r) => setTimeout(r, 0));
  };
  return { client, calls, release, get maxInFlight() { return maxInFlight; } };
}

test('LRU evicts least recently used frames beyond the byte bound', () => {
  const cache = new FrameCache(3 * 64); // three 16-float frames
  for (const u of ['a', 'b', 'c']) cache.set(u, makeFrame(u));
  cache.get('a'); // a is now most recent
  cache.set('d', makeFrame('d'));
  assert.equal(cache.has('b'), false);
  assert.deepEqual(['a', 'c', 'd'].map((u) => cache.has(u)), [true, true, true]);
  assert.equal(cache.byteSize, 3 * 64);
});

test('outward order and nearest loaded slice', () => {
  assert.deepEqual(outwardOrder(2, 5), [2, 3, 1, 4, 0]);
  assert.deepEqual(outwardOrder(0, 3), [0, 1, 2]);
  assert.deepEqual(outwardOrder(0, 0), []);
  const cache = new FrameCache(1e6);
  const uids = ['u0', 'u1', 'u2', 'u3', 'u4'];
  assert.equal(nearestLoaded(2, uids, cache), -1);
  cache.set('u4', makeFrame('u4'));
  assert.equal(nearestLoaded(2, uids, cache), 4);
  cache.set('u1', makeFrame('u1'));
  assert.equal(nearestLoaded(2, uids, cache), 1);
});

test('loader deduplicates, bounds concurrency, and serves urgent loads before prefetch', async () => {
  const fake = fakeClient();
  const loader = new FrameLoader(fake.client, new FrameCache(1e6), 2);
  const seen: string[] = [];
  loader.onFrame((f) => seen.push(f.sopInstanceUid));

  loader.prefetch(['p1', 'p2', 'p3', 'p4']);
  assert.deepEqual(fake.calls, ['p1', 'p2']); // concurrency 2
  const urgent = loader.load('u');
  const again = loader.load('u');
  assert.equal(fake.calls.includes('u'), false); // waits for a free slot...
  await fake.release('p1');
  assert.equal(fake.calls[2], 'u'); // ...and takes it ahead of p3
  await fake.release('u');
  const [a, b] = await Promise.all([urgent, again]);
  assert.equal(a, b);
  assert.equal(a.sopInstanceUid, 'u');
  await fake.release('p2');
  await fake.release('p3');
  await fake.release('p4');
  assert.equal(fake.maxInFlight, 2);
  assert.deepEqual(seen.sort(), ['p1', 'p2', 'p3', 'p4', 'u']);
  // cached now: no new request
  await loader.load('p3');
  assert.equal(fake.calls.filter((c) => c === 'p3').length, 1);
});

test('a new prefetch list replaces the queued one', async () => {
  const fake = fakeClient();
  const loader = new FrameLoader(fake.client, new FrameCache(1e6), 1);
  loader.prefetch(['a', 'b', 'c']);
  loader.prefetch(['x', 'y']);
  await fake.release('a');
  await fake.release('x');
  await fake.release('y');
  assert.deepEqual(fake.calls, ['a', 'x', 'y']);
  assert.equal(loader.pendingCount, 0);
});

test('during a hold only urgent loads start; low-priority (thumbnail) loads wait, then go before prefetch', async () => {
  const fake = fakeClient();
  const loader = new FrameLoader(fake.client, new FrameCache(1e6), 4);
  const release = loader.hold();
  const thumb = loader.load('t', { priority: 'low' });
  loader.prefetch(['p1']);
  const first = loader.load('first');
  assert.deepEqual(fake.calls, ['first']);
  await fake.release('first');
  await first;
  assert.deepEqual(fake.calls, ['first']); // still held
  release();
  release(); // idempotent
  assert.deepEqual(fake.calls, ['first', 't', 'p1']);
  await fake.release('t');
  await fake.release('p1');
  assert.equal((await thumb).sopInstanceUid, 't');
  assert.equal(loader.pendingCount, 0);
});

test('an urgent load of a queued low-priority frame promotes it', async () => {
  const fake = fakeClient();
  const loader = new FrameLoader(fake.client, new FrameCache(1e6), 1);
  const release = loader.hold();
  const low = loader.load('x', { priority: 'low' });
  const now = loader.load('x');
  assert.deepEqual(fake.calls, ['x']);
  release();
  await fake.release('x');
  assert.equal(await low, await now);
});
