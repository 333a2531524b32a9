import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  DEFAULT_MODELS_DIR, ModelError, ModelIntegrityError, loadModel, parseManifest, readManifest, updateManifest, type ManifestEntry,
} from '../../../../native-models/src/inference/models/manifest.js';
import { saveWeights } from '../../../../native-models/src/core/weights-io.js';
import { tensor, type NamedWeights } from '../../../../native-models/src/core/tensor.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'mfp-models-'));
}

const weights = (): NamedWeights => new Map([['body.w', tensor([2, 3], [1, 2, 3, 4, 5, 6])], ['head.b', tensor([2], [0.5, -0.5])]]);

async function ship(dir: string, name = 'toy'): Promise<ManifestEntry> {
  const { sha256, bytes } = await saveWeights(join(dir, `${name}.weights`), weights(), { model: name });
  const entry: ManifestEntry = { version: '1.0.0', file: `${name}.weights`, sha256, bytes, config: { width: 2 }, trainedAt: '2025-01-01T00:00:00Z', split: 'br35h-group-v1 (seed 42)', metrics: { accuracy: 1 } };
  await updateManifest(dir, name, entry);
  return entry;
}

test('loadModel returns the weights when the sha256 matches the manifest', async () => {
  const dir = tmp();
  try {
    const entry = await ship(dir);
    const m = await loadModel('toy', { dir });
    assert.equal(m.entry.sha256, entry.sha256);
    assert.deepEqual([...m.weights.get('body.w')!.data], [1, 2, 3, 4, 5, 6]);
    assert.equal(m.meta.model, 'toy');
    assert.equal(createHash('sha256').update(readFileSync(join(dir, 'toy.weights'))).digest('hex'), entry.sha256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one flipped byte in the weights file is refused with ModelIntegrityError', async () => {
  const dir = tmp();
  try {
    const entry = await ship(dir);
    const path = join(dir, 'toy.weights');
    const bytes = readFileSync(path);
    bytes[bytes.length - 40] ^= 0x01; // inside the float data
    writeFileSync(path, bytes);
    await assert.rejects(loadModel('toy', { dir }), (e: unknown) => {
      assert.ok(e instanceof ModelIntegrityError);
      assert.equal(e.code, 'MODEL_INTEGRITY_MISMATCH');
      assert.equal(e.expected, entry.sha256);
      assert.notEqual(e.actual, entry.sha256);
      assert.match(e.message, /refusing to load model "toy"/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a swapped file that is itself valid is still refused (the manifest, not the file, is the authority)', async () => {
  const dir = tmp();
  try {
    await ship(dir);
    const other = new Map([['body.w', tensor([2, 3], [9, 9, 9, 9, 9, 9])], ['head.b', tensor([2], [0, 0])]]);
    await saveWeights(join(dir, 'toy.weights'), other, { model: 'toy' });
    await assert.rejects(loadModel('toy', { dir }), ModelIntegrityError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing manifest, unknown model and missing file get typed errors', async () => {
  const dir = tmp();
  try {
    await assert.rejects(loadModel('toy', { dir }), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_MANIFEST_MISSING');
    await ship(dir);
    await assert.rejects(loadModel('nope', { dir }), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_UNKNOWN' && /has: toy/.test(e.message));
    rmSync(join(dir, 'toy.weights'));
    await assert.rejects(loadModel('toy', { dir }), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_FILE_MISSING');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseManifest rejects malformed manifests and paths outside the folder', () => {
  const ok = { version: '1', file: 'a.weights', sha256: 'a'.repeat(64), bytes: 1, config: {}, trainedAt: 'x', split: 's', metrics: {} };
  const wrap = (models: unknown) => JSON.stringify({ format: 'medfedpure-models', version: 1, models });
  assert.equal(parseManifest(wrap({ a: ok })).models.a.file, 'a.weights');
  const invalid = (text: string) => assert.throws(() => parseManifest(text), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_MANIFEST_INVALID');
  invalid('{not json');
  invalid(JSON.stringify({ format: 'other', version: 1, models: {} }));
  invalid(wrap({ a: { ...ok, file: '../../etc/passwd' } }));
  invalid(wrap({ a: { ...ok, file: '/abs/path' } }));
  invalid(wrap({ a: { ...ok, sha256: 'XYZ' } }));
  invalid(wrap({ a: { ...ok, bytes: -1 } }));
});

test('updateManifest keeps the other models and sorts them', async () => {
  const dir = tmp();
  try {
    await ship(dir, 'mae');
    await ship(dir, 'classifier');
    const m = await readManifest(dir);
    assert.deepEqual(Object.keys(m.models), ['classifier', 'mae']);
    await ship(dir, 'mae');
    assert.deepEqual(Object.keys((await readManifest(dir)).models), ['classifier', 'mae']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The committed artifacts: every listed model verifies, and a one-byte change to a temp copy is refused.
const shipped = existsSync(join(DEFAULT_MODELS_DIR, 'manifest.json'));
test('shipped artifacts verify against native-models/models/manifest.json', { skip: shipped ? false : 'no shipped manifest yet' }, async () => {
  const manifest = await readManifest();
  assert.ok(Object.keys(manifest.models).length > 0);
  for (const name of Object.keys(manifest.models)) {
    const m = await loadModel(name);
    assert.equal(m.meta.model, name);
    assert.ok(m.weights.size > 0);
  }
  const dir = tmp();
  try {
    const [name, entry] = Object.entries(manifest.models)[0];
    copyFileSync(join(DEFAULT_MODELS_DIR, 'manifest.json'), join(dir, 'manifest.json'));
    copyFileSync(join(DEFAULT_MODELS_DIR, entry.file), join(dir, entry.file));
    const bytes = readFileSync(join(dir, entry.file));
    bytes[Math.floor(bytes.length / 2)] ^= 0x80;
    writeFileSync(join(dir, entry.file), bytes);
    await assert.rejects(loadModel(name, { dir }), ModelIntegrityError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
