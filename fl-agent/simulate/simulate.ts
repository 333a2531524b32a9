/**
 * `medfedpure fl simulate`: an in-process federation over the agent's own client code, on Br35H split across sites
 * by near-duplicate group (a group is never on two sites), non-IID by a Dirichlet(α) draw of each class's groups over
 * the sites (Hsu et al. 2019's label-skew partition, at group level). Research tooling: this folder, and only this
 * folder of fl-agent, may import native-models/src/lab (the Br35H loader).
 *
 * Three federations of the same sites, same initial weights, same local-training settings:
 *   local-only    each site trains alone for (rounds run) × local-epochs epochs, no communication (trained after
 *                 the federations, so a time cap that cut them short gives it the same budget)
 *   FedAvg        every weight travels (personalisation 'none'); accuracy of the global model
 *   personalised  FedPer + FedBN (the product default): body averaged, head and norm layers local; accuracy of each
 *                 site's personalised model (global body + its own head/norms)
 * The two federations advance round by round together, so a time cap stops both after the same round.
 * Each site is scored on its own held-out groups (about a fifth of its groups, fl-agent/site/data.ts splitByGroup).
 *
 * "Over the same client code": each round's messages are real Flower messages — content deflated to content-addressed
 * objects, inflated and verified — handed to ClassifierClientApp.handle (receive shared layers, train, reply), and
 * aggregated FedAvg-style by num-examples. Bytes per round are the sizes of the objects that would cross the wire
 * (down: the train and evaluate messages to every site; up: the replies); gRPC framing is not counted.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadYesNoFolder } from '../../native-models/src/lab/data/folder.js';
import type { ImageDataset } from '../../native-models/src/core/train/dataset.js';
import * as classifier from '../../native-models/src/inference/nets/classifier.js';
import { cloneWeights } from '../../native-models/src/core/tensor.js';
import { Rng } from '../../native-models/src/core/rng.js';
import { ClassifierClientApp, type HandleContext } from '../client-app.js';
import { LocalTrainer, DEFAULT_LOCAL_TRAINING, type LocalTrainingOptions } from '../train/local-trainer.js';
import { splitByGroup, type SiteData } from '../site/data.js';
import { DEFAULT_POLICY } from '../site/policy.js';
import { sharedNames, toArrays, type Personalisation } from '../model/shared-layers.js';
import { deflateMessage, inflateMessage } from '../protocol/objects.js';
import { decodeNpyF32, encodeNpyF32 } from '../protocol/npy.js';
import { arrayRecord, configRecord, SUPERLINK_NODE_ID, type FlArray, type FlMessage, type RecordDict } from '../protocol/records.js';
import { intFlag, parseArgs, usage, UsageError, type FlagSpec } from '../../native-models/src/core/cli-args.js';

export interface SimulationOptions {
  data: string;
  sites: number;
  alpha: number;
  rounds: number;
  localEpochs: number;
  width: number;
  threads: number;
  seed: number;
  /** Stop starting new rounds after this many minutes (the report says so). */
  maxMinutes: number;
  /** The lab loader's preprocessed-image cache (undefined: its default; null: none). */
  cacheDir?: string | null;
}

export interface SiteReport {
  site: number;
  trainImages: number;
  heldOutImages: number;
  heldOutGroups: number;
  /** Share of tumour images among the site's images. */
  tumourShare: number;
  localOnly: number;
  fedAvg: number;
  personalised: number;
}

export interface RoundReport {
  federation: 'FedAvg' | 'personalised';
  round: number;
  bytesDown: number;
  bytesUp: number;
  seconds: number;
  meanAccuracy: number;
}

export interface SimulationReport {
  options: SimulationOptions;
  dataset: { source: string; images: number; groups: number };
  sites: SiteReport[];
  rounds: RoundReport[];
  localOnlySeconds: number;
  roundsRun: number;
  stoppedEarly: boolean;
  totalSeconds: number;
}

// ---- partition ----

function gamma(rng: Rng, a: number): number {
  if (a < 1) return gamma(rng, a + 1) * Math.pow(Math.max(rng.next(), 1e-12), 1 / a);
  const d = a - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do { x = rng.normal(); v = 1 + c * x; } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(Math.max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Groups → sites: for each class, the groups whose majority label is that class are shuffled and dealt to sites in
 * proportions drawn from Dirichlet(α, …, α). Every site is guaranteed at least `minGroups` groups (redrawn otherwise).
 */
export function dirichletGroupPartition(labels: ArrayLike<number>, groups: ArrayLike<number>, sites: number, alpha: number, seed: number, minGroups = 4): Int32Array[] {
  const members = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups[i];
    if (!members.has(g)) members.set(g, []);
    members.get(g)!.push(i);
  }
  const byClass: number[][] = [[], []];
  for (const [g, idx] of members) byClass[idx.filter((i) => labels[i] === 1).length * 2 >= idx.length ? 1 : 0].push(g);
  for (const cls of byClass) cls.sort((a, b) => a - b);
  const rng = new Rng(seed >>> 0);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const siteGroups: number[][] = Array.from({ length: sites }, () => []);
    for (const cls of byClass) {
      const order = rng.shuffle(Int32Array.from(cls));
      const p = Array.from({ length: sites }, () => gamma(rng, alpha));
      const sum = p.reduce((a, b) => a + b, 0);
      let start = 0, acc = 0;
      for (let s = 0; s < sites; s++) {
        acc += p[s] / sum;
        const end = s === sites - 1 ? order.length : Math.round(acc * order.length);
        for (let k = start; k < end; k++) siteGroups[s].push(order[k]);
        start = end;
      }
    }
    if (siteGroups.every((g) => g.length >= minGroups)) {
      return siteGroups.map((gs) => Int32Array.from(gs.flatMap((g) => members.get(g)!)).sort());
    }
  }
  throw new RangeError(`could not give each of ${sites} sites ${minGroups} groups with α = ${alpha}`);
}

// ---- federation over the client code ----

function message(type: 'train' | 'evaluate', round: number, nodeId: bigint, content: RecordDict): { msg: FlMessage; bytes: number } {
  const m: FlMessage = {
    metadata: { run_id: 1n, message_id: '', src_node_id: SUPERLINK_NODE_ID, dst_node_id: nodeId, reply_to_message_id: '', group_id: String(round), ttl: 3600, message_type: type, created_at: Date.now() / 1000 },
    content, error: null,
  };
  const d = deflateMessage(m);
  let bytes = 0;
  for (const b of d.objects.values()) bytes += b.length;
  return { msg: inflateMessage(d.tree, d.objects), bytes };
}

function wireBytes(content: RecordDict, round: number, nodeId: bigint): number {
  const d = deflateMessage({
    metadata: { run_id: 1n, message_id: '', src_node_id: nodeId, dst_node_id: SUPERLINK_NODE_ID, reply_to_message_id: 'x', group_id: String(round), ttl: 3600, message_type: 'train', created_at: Date.now() / 1000 },
    content, error: null,
  });
  let bytes = 0;
  for (const b of d.objects.values()) bytes += b.length;
  return bytes;
}

/** One federation (FedAvg or personalised) advanced round by round, so that a time cap cuts both at the same round. */
class Federation {
  private readonly apps: ClassifierClientApp[];
  private arrays: Map<string, FlArray>;
  readonly label: RoundReport['federation'];
  readonly rounds: RoundReport[] = [];
  accuracy: number[];

  constructor(kind: Personalisation, private readonly sites: SiteData[], private readonly o: SimulationOptions, trainer: LocalTrainer, private readonly dir: string) {
    const init = classifier.init(trainer.opts.net, o.seed);
    this.apps = sites.map((s, k) => new ClassifierClientApp({ stateDir: join(dir, String(k)), data: async () => s, training: trainer.opts, personalisation: kind, initialWeights: init, trainer }));
    this.arrays = toArrays(init, sharedNames(init, kind));
    this.label = kind === 'none' ? 'FedAvg' : 'personalised';
    this.accuracy = sites.map(() => NaN);
  }

  static async create(kind: Personalisation, sites: SiteData[], o: SimulationOptions, trainer: LocalTrainer): Promise<Federation> {
    const dir = await mkdtemp(join(tmpdir(), `fl-sim-${kind}-`));
    for (let k = 0; k < sites.length; k++) await mkdir(join(dir, String(k)), { recursive: true });
    return new Federation(kind, sites, o, trainer, dir);
  }

  private ctx(round: number): HandleContext {
    return { runId: 1n, round: String(round), privacy: DEFAULT_POLICY.privacy, maxThreads: this.o.threads, maxRoundSeconds: 3600 };
  }

  async round(round: number): Promise<RoundReport> {
    const t0 = performance.now();
    let down = 0, up = 0;
    const sums = new Map<string, Float64Array>();
    let total = 0;
    for (const [k, app] of this.apps.entries()) {
      const node = BigInt(k + 2);
      const { msg, bytes } = message('train', round, node, new Map([['arrays', arrayRecord(this.arrays)], ['config', configRecord({ 'server-round': BigInt(round), 'local-epochs': BigInt(this.o.localEpochs) })]]));
      down += bytes;
      const r = await app.handle('train', msg, this.ctx(round));
      up += wireBytes(r.content, round, node);
      const n = Number(r.figures.examples);
      const rec = r.content.get('arrays')!;
      if (rec.kind !== 'array') throw new Error('train reply without arrays');
      for (const [name, a] of rec.items) {
        const v = decodeNpyF32(a.data).data;
        const acc = sums.get(name) ?? new Float64Array(v.length);
        for (let i = 0; i < v.length; i++) acc[i] += n * v[i];
        sums.set(name, acc);
      }
      total += n;
    }
    const next = new Map<string, FlArray>();
    for (const [name, a] of this.arrays) next.set(name, { ...a, data: encodeNpyF32(a.shape, Float32Array.from(sums.get(name)!, (x) => x / total)) });
    this.arrays = next;
    const accuracy: number[] = [];
    for (const [k, app] of this.apps.entries()) {
      const node = BigInt(k + 2);
      const { msg, bytes } = message('evaluate', round, node, new Map([['arrays', arrayRecord(this.arrays)], ['config', configRecord({ 'server-round': BigInt(round) })]]));
      down += bytes;
      const r = await app.handle('evaluate', msg, this.ctx(round));
      up += wireBytes(r.content, round, node);
      accuracy.push(r.accuracy ?? NaN);
    }
    this.accuracy = accuracy;
    const rep: RoundReport = { federation: this.label, round, bytesDown: down, bytesUp: up, seconds: (performance.now() - t0) / 1000, meanAccuracy: accuracy.reduce((a, b) => a + b, 0) / accuracy.length };
    this.rounds.push(rep);
    return rep;
  }

  async close(): Promise<void> {
    for (const app of this.apps) await app.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function simulate(o: SimulationOptions, log: (s: string) => void = () => undefined): Promise<SimulationReport> {
  const t0 = performance.now();
  const deadline = Date.now() + o.maxMinutes * 60_000;
  const net = { ...DEFAULT_LOCAL_TRAINING.net, width: o.width };
  const ds: ImageDataset = await loadYesNoFolder(o.data, { size: net.size, ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) });
  const parts = dirichletGroupPartition(ds.labels, ds.groups, o.sites, o.alpha, o.seed);
  const sites: SiteData[] = parts.map((idx) => {
    const keys = [...idx].map((i) => String(ds.groups[i]));
    const s = splitByGroup(keys);
    return { dataset: ds, train: Int32Array.from(s.train, (j) => idx[j]), heldOut: Int32Array.from(s.heldOut, (j) => idx[j]), skipped: [], description: `${idx.length} images` };
  });
  const training: LocalTrainingOptions = { ...DEFAULT_LOCAL_TRAINING, net, threads: o.threads, epochs: o.localEpochs, maxSeconds: 3600 };
  const trainer = new LocalTrainer(training);
  try {
    log(`${ds.count} images, ${new Set(ds.groups).size} groups → ${o.sites} sites (Dirichlet α = ${o.alpha}); classifier width ${o.width}`);
    const fed = await Federation.create('none', sites, o, trainer);
    const per = await Federation.create('fedper+fedbn', sites, o, trainer);
    let stoppedEarly = false;
    try {
      for (let round = 1; round <= o.rounds; round++) {
        if (Date.now() > deadline) {
          stoppedEarly = true;
          break;
        }
        for (const f of [fed, per]) {
          const x = await f.round(round);
          log(`${x.federation} round ${round}: mean held-out accuracy ${(100 * x.meanAccuracy).toFixed(1)} %, ${(x.bytesDown / 1e6).toFixed(1)} MB down, ${(x.bytesUp / 1e6).toFixed(1)} MB up, ${x.seconds.toFixed(0)} s`);
        }
      }
    } finally {
      await fed.close();
      await per.close();
    }
    // local-only, for as many epochs as the federations got rounds (× local epochs): the same training budget
    const tl = performance.now();
    const init = classifier.init(net, o.seed);
    const localOnly: number[] = [];
    const epochs = Math.max(1, per.rounds.length) * o.localEpochs;
    for (const [k, s] of sites.entries()) {
      const w = cloneWeights(init);
      await trainer.train(w, ds, s.train, { seed: o.seed + k, epochs });
      localOnly.push((await trainer.evaluate(w, ds, s.heldOut)).accuracy);
    }
    const localOnlySeconds = (performance.now() - tl) / 1000;
    log(`local-only (${epochs} epochs): mean held-out accuracy ${(100 * localOnly.reduce((a, b) => a + b, 0) / localOnly.length).toFixed(1)} % (${localOnlySeconds.toFixed(0)} s)`);
    const report: SimulationReport = {
      options: o,
      dataset: { source: ds.meta.source, images: ds.count, groups: new Set(ds.groups).size },
      sites: sites.map((s, k) => ({
        site: k + 1, trainImages: s.train.length, heldOutImages: s.heldOut.length, heldOutGroups: new Set([...s.heldOut].map((i) => ds.groups[i])).size,
        tumourShare: [...s.train, ...s.heldOut].filter((i) => ds.labels[i] === 1).length / (s.train.length + s.heldOut.length),
        localOnly: localOnly[k], fedAvg: fed.accuracy[k], personalised: per.accuracy[k],
      })),
      rounds: [...fed.rounds, ...per.rounds],
      localOnlySeconds,
      roundsRun: per.rounds.length,
      stoppedEarly,
      totalSeconds: (performance.now() - t0) / 1000,
    };
    return report;
  } finally {
    await trainer.release();
  }
}

/** Grouped bar chart (local-only / FedAvg / personalised per site) as a standalone SVG. */
export function reportSvg(r: SimulationReport): string {
  const W = 60 + r.sites.length * 54, H = 260, top = 30, base = 210, colours = ['#9e9e9e', '#1f77b4', '#d62728'];
  const y = (acc: number) => base - (base - top) * (Number.isFinite(acc) ? acc : 0);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10">`,
    `<text x="8" y="16" font-size="12">Held-out accuracy per site: local-only, FedAvg (global), personalised (FedPer+FedBN); ${r.options.sites} sites, α = ${r.options.alpha}, ${r.roundsRun} rounds</text>`];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<line x1="40" x2="${W - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="8" y="${y(t) + 3}">${(t * 100).toFixed(0)}%</text>`);
  r.sites.forEach((s, k) => {
    const x0 = 50 + k * 54;
    [s.localOnly, s.fedAvg, s.personalised].forEach((a, j) => parts.push(`<rect x="${x0 + j * 15}" y="${y(a)}" width="13" height="${base - y(a)}" fill="${colours[j]}"/>`));
    parts.push(`<text x="${x0 + 8}" y="${base + 14}">site ${s.site}</text>`);
  });
  ['local-only', 'FedAvg', 'personalised'].forEach((l, j) => parts.push(`<rect x="${50 + j * 110}" y="${H - 22}" width="10" height="10" fill="${colours[j]}"/><text x="${64 + j * 110}" y="${H - 13}">${l}</text>`));
  parts.push('</svg>');
  return parts.join('\n');
}

export function reportMarkdown(r: SimulationReport): string {
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}` : '—');
  const lines = [
    '| site | train imgs | held-out imgs (groups) | tumour share | local-only % | FedAvg % | personalised % |',
    '|---|---|---|---|---|---|---|',
    ...r.sites.map((s) => `| ${s.site} | ${s.trainImages} | ${s.heldOutImages} (${s.heldOutGroups}) | ${pct(s.tumourShare)} % | ${pct(s.localOnly)} | ${pct(s.fedAvg)} | ${pct(s.personalised)} |`),
  ];
  const mean = (f: (s: SiteReport) => number) => r.sites.reduce((a, s) => a + f(s), 0) / r.sites.length;
  lines.push(`| **mean over sites** | | | | **${pct(mean((s) => s.localOnly))}** | **${pct(mean((s) => s.fedAvg))}** | **${pct(mean((s) => s.personalised))}** |`);
  const held = r.sites.reduce((a, s) => a + s.heldOutImages, 0);
  const pooled = (f: (s: SiteReport) => number) => r.sites.reduce((a, s) => a + f(s) * s.heldOutImages, 0) / held;
  lines.push(`| pooled (${held} held-out images) | | | | ${pct(pooled((s) => s.localOnly))} | ${pct(pooled((s) => s.fedAvg))} | ${pct(pooled((s) => s.personalised))} |`);
  const notBetter = r.sites.filter((s) => s.personalised < s.fedAvg).map((s) => `site ${s.site} (${s.heldOutImages} held-out images)`);
  lines.push('', notBetter.length ? `Personalised below FedAvg at: ${notBetter.join(', ')}.` : 'Personalised ≥ FedAvg at every site.');
  lines.push('', '| federation | round | MB down | MB up | seconds | mean held-out accuracy % |', '|---|---|---|---|---|---|');
  for (const x of r.rounds) lines.push(`| ${x.federation} | ${x.round} | ${(x.bytesDown / 1e6).toFixed(2)} | ${(x.bytesUp / 1e6).toFixed(2)} | ${x.seconds.toFixed(0)} | ${pct(x.meanAccuracy)} |`);
  return lines.join('\n');
}

const SIMULATE_SPEC = {
  sites: { kind: 'string', value: 'N', help: 'number of sites (default 10)' },
  dirichlet: { kind: 'string', value: 'ALPHA', help: 'Dirichlet concentration of the label skew (default 0.4; large = IID)' },
  rounds: { kind: 'string', value: 'R', help: 'federated rounds (default 5)' },
  'local-epochs': { kind: 'string', value: 'E', help: 'local epochs per round (default 1)' },
  width: { kind: 'string', value: 'C', help: `classifier stem width (default ${DEFAULT_LOCAL_TRAINING.net.width}, the product's)` },
  threads: { kind: 'string', value: 'N', help: 'onnxruntime threads (default 2)' },
  seed: { kind: 'string', value: 'N', help: 'partition and initial-weights seed (default 1)' },
  'max-minutes': { kind: 'string', value: 'M', help: 'start no federated round after this many minutes (default 10)' },
  data: { kind: 'string', value: 'DIR', help: 'a yes/no folder with NEAR_DUPLICATES.tsv (default /work/shared/datasets/br35h)' },
  out: { kind: 'string', value: 'DIR', help: 'write report.json, report.md and accuracy.svg here' },
  json: { kind: 'boolean', help: 'print the report as JSON' },
  help: 'boolean',
} satisfies FlagSpec;

export async function simulateCommand(argv: string[]): Promise<number> {
  const f = parseArgs(argv, SIMULATE_SPEC).flags as Partial<Record<keyof typeof SIMULATE_SPEC, string>> & { json?: boolean; help?: boolean };
  if (f.help) {
    process.stdout.write(`${usage('medfedpure fl simulate', SIMULATE_SPEC, '', 'In-process federation over the agent\'s client code on Br35H split by near-duplicate group: local-only, FedAvg and personalised accuracy per site.')}\n`);
    return 0;
  }
  const alpha = Number(f.dirichlet ?? '0.4');
  if (!(alpha > 0 && alpha < 1e6)) throw new UsageError('--dirichlet must be a number > 0');
  const maxMinutes = Number(f['max-minutes'] ?? '10');
  if (!(maxMinutes > 0)) throw new UsageError('--max-minutes must be a number > 0');
  const o: SimulationOptions = {
    data: resolve(f.data ?? '/work/shared/datasets/br35h'),
    sites: intFlag(f.sites, 'sites', 2, 100) ?? 10,
    alpha,
    rounds: intFlag(f.rounds, 'rounds', 1, 1000) ?? 5,
    localEpochs: intFlag(f['local-epochs'], 'local-epochs', 1, 100) ?? 1,
    width: intFlag(f.width, 'width', 4, 256) ?? DEFAULT_LOCAL_TRAINING.net.width,
    threads: intFlag(f.threads, 'threads', 1, 256) ?? 2,
    seed: intFlag(f.seed, 'seed', 0, 2 ** 31) ?? 1,
    maxMinutes,
  };
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const report = await simulate(o, log);
  if (f.out) {
    const out = resolve(f.out);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'report.json'), JSON.stringify(report, null, 1));
    await writeFile(join(out, 'report.md'), `${reportMarkdown(report)}\n`);
    await writeFile(join(out, 'accuracy.svg'), reportSvg(report));
    log(`report written to ${out}`);
  }
  process.stdout.write(f.json ? `${JSON.stringify(report)}\n` : `${reportMarkdown(report)}\n`);
  return 0;
}
