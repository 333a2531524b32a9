/** fl simulate: the group-level Dirichlet partition, and one tiny end-to-end simulation on a synthetic yes/no folder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { dirichletGroupPartition, reportMarkdown, reportSvg, simulate } from '../../../fl-agent/simulate/simulate.js';

test('Dirichlet partition: every image on exactly one site, groups never split, deterministic, skewed at small α', () => {
  const n = 600;
  const groups = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 3)); // 200 groups of 3
  const labels = Int32Array.from({ length: n }, (_, i) => (Math.floor(i / 3) % 2));
  const parts = dirichletGroupPartition(labels, groups, 5, 0.3, 7);
  const seen = new Int32Array(n);
  for (const p of parts) for (const i of p) seen[i]++;
  assert.ok(seen.every((c) => c === 1));
  const siteOfGroup = new Map<number, number>();
  parts.forEach((p, s) => p.forEach((i) => {
    const g = groups[i];
    assert.ok(!siteOfGroup.has(g) || siteOfGroup.get(g) === s, `group ${g} on two sites`);
    siteOfGroup.set(g, s);
  }));
  assert.deepEqual(dirichletGroupPartition(labels, groups, 5, 0.3, 7), parts);
  const shares = parts.map((p) => [...p].filter((i) => labels[i] === 1).length / p.length);
  assert.ok(Math.max(...shares) - Math.min(...shares) > 0.3, `label skew ${shares.map((x) => x.toFixed(2))}`);
});

test('a tiny simulation runs all three federations and reports per site', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-sim-data-'));
  try {
    for (const [sub, v] of [['yes', 210], ['no', 40]] as const) {
      await mkdir(join(dir, sub));
      for (let i = 0; i < 12; i++) {
        const p = new PNG({ width: 32, height: 32 });
        for (let k = 0; k < p.data.length; k += 4) { p.data[k] = p.data[k + 1] = p.data[k + 2] = (v + 5 * i + (k % 97)) % 256; p.data[k + 3] = 255; }
        await writeFile(join(dir, sub, `${sub}${i}.png`), PNG.sync.write(p));
      }
    }
    const r = await simulate({ data: dir, sites: 2, alpha: 1, rounds: 1, localEpochs: 1, width: 4, threads: 1, seed: 3, maxMinutes: 5, cacheDir: null });
    assert.equal(r.sites.length, 2);
    assert.equal(r.roundsRun, 1);
    for (const s of r.sites) for (const a of [s.localOnly, s.fedAvg, s.personalised]) assert.ok(a >= 0 && a <= 1);
    const fed = r.rounds.find((x) => x.federation === 'FedAvg')!, per = r.rounds.find((x) => x.federation === 'personalised')!;
    assert.ok(per.bytesUp < fed.bytesUp, 'personalised sends only the shared layers');
    assert.match(reportMarkdown(r), /\| \*\*mean over sites\*\* \|/);
    assert.match(reportSvg(r), /^<svg/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
