/**
 * `fl export-shared` → the ServerApp's loader (fl-agent/server/medfedpure_server/shared_arrays.py), run by Python with
 * numpy and a two-class stand-in for `flwr.app` (Flower itself cannot be installed here). Skipped without numpy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as classifier from '../../../native-models/src/inference/nets/classifier.js';
import { flCommand } from '../../../fl-agent/cli.js';
import { sharedNames } from '../../../fl-agent/model/shared-layers.js';
import { DEFAULT_LOCAL_TRAINING } from '../../../fl-agent/train/local-trainer.js';

const serverDir = fileURLToPath(new URL('../../../fl-agent/server', import.meta.url));
const py = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });

const SCRIPT = `
import json, sys, types
import numpy as np
app = types.ModuleType("flwr.app")
class Array:
    def __init__(self, nd): self.nd = nd
    def numpy(self): return self.nd
class ArrayRecord(dict):
    pass
app.Array, app.ArrayRecord = Array, ArrayRecord
flwr = types.ModuleType("flwr"); flwr.app = app
sys.modules["flwr"], sys.modules["flwr.app"] = flwr, app
sys.path.insert(0, sys.argv[1])
from medfedpure_server.shared_arrays import load_shared_arrays, save_shared_arrays
rec = load_shared_arrays(sys.argv[2])
save_shared_arrays(rec, sys.argv[3], {"rounds": 1})
back = load_shared_arrays(sys.argv[3])
assert list(back.keys()) == list(rec.keys())
assert all(np.array_equal(back[k].numpy(), rec[k].numpy()) for k in rec)
print(json.dumps({k: [list(a.numpy().shape), str(a.numpy().dtype), float(a.numpy().astype(np.float64).sum())] for k, a in rec.items()}))
`;

test('export-shared writes what the ServerApp loads: names, order, shapes, float32 values', { skip: py.status !== 0 ? 'python3 with numpy not available' : false }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-export-'));
  const write = process.stdout.write.bind(process.stdout);
  try {
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let code: number;
    try {
      code = await flCommand(['export-shared', '--out', join(dir, 'init'), '--seed', '3']);
    } finally {
      process.stdout.write = write;
    }
    assert.equal(code, 0);
    const r = spawnSync('python3', ['-c', SCRIPT, serverDir, join(dir, 'init'), join(dir, 'out')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, [number[], string, number]>;
    const w = classifier.init(DEFAULT_LOCAL_TRAINING.net, 3);
    const names = sharedNames(w);
    assert.deepEqual(Object.keys(got), names);
    for (const n of names) {
      const t = w.get(n)!;
      assert.deepEqual(got[n][0], t.shape);
      assert.equal(got[n][1], 'float32');
      const sum = t.data.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(got[n][2] - sum) < 1e-3 * (1 + Math.abs(sum)), n);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
