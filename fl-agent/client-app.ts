/**
 * The workstation's "ClientApp": what the agent does with a `train` or `evaluate` message, for the tumour classifier.
 *
 *   train     received shared layers → replace the local body (head and norm layers stay) → local training within
 *             the round's budget → clip the update to the server's `clipping_norm` (fixedclipping_mod semantics) →
 *             optional local Gaussian noise (accounted) → reply {"arrays": shared layers, "metrics": {num-examples,
 *             train_loss, train_acc, …}}; the trained local model is persisted for the next round
 *   evaluate  received shared layers + the local head/norms (the personalised model) on the site's held-out
 *             groups → reply {"metrics": {num-examples, eval_loss, eval_acc}}
 *
 * It reads the message the way Flower's FedAvg writes it: one ArrayRecord (named "arrays" by default) and one
 * ConfigRecord ("config") carrying `server-round`, optionally `lr`, `local-epochs` and `clipping_norm`. Anything that
 * does not fit the local model is refused before training starts (shared-layers.ts).
 *
 * Local state in `stateDir`: local-model.mfpw (all weights, head included), privacy.json (the accountant).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as classifier from '../native-models/src/inference/nets/classifier.js';
import { cloneWeights, type NamedWeights } from '../native-models/src/core/tensor.js';
import { loadWeights, saveWeights, writeFileAtomic, WeightsFormatError } from '../native-models/src/core/weights-io.js';
import { FlError } from './protocol/errors.js';
import { arrayRecord, configNumber, metricRecord, type FlArray, type FlMessage, type FlRecord, type RecordDict } from './protocol/records.js';
import { fromArrays, isFinite32, sharedNames, toArrays, weightsSha256, DEFAULT_PERSONALISATION, type Personalisation } from './model/shared-layers.js';
import { addGaussianNoise, clipUpdate, ZcdpAccountant } from './privacy/privacy.js';
import { LocalTrainer, DEFAULT_LOCAL_TRAINING, type LocalTrainingOptions } from './train/local-trainer.js';
import type { SiteData } from './site/data.js';
import type { PrivacySettings } from './site/policy.js';
import type { RoundAudit } from './site/audit.js';

export type MessageKind = 'train' | 'evaluate';

export interface HandleContext {
  runId: bigint;
  round: string;
  /** Current privacy settings and thread / time budget (from the site policy at the time of the message). */
  privacy: PrivacySettings;
  maxThreads: number;
  maxRoundSeconds: number;
  signal?: AbortSignal;
}

export type RoundFigures = Pick<RoundAudit, 'receivedSha256' | 'sentSha256' | 'examples' | 'clippingNorm' | 'updateNorm' | 'noiseMultiplier' | 'epsilon' | 'delta'>;

export interface HandleResult {
  content: RecordDict;
  figures: RoundFigures;
  /** For the status history. */
  loss: number | null;
  accuracy: number | null;
}

/** What the agent needs from an app: one handler per message kind. */
export interface ClientApp {
  handle(kind: MessageKind, msg: FlMessage, ctx: HandleContext): Promise<HandleResult>;
  close(): Promise<void>;
}

export interface ClassifierAppOptions {
  stateDir: string;
  /** Site data (confirmed cases or a folder), loaded lazily on the first round and reused. */
  data: () => Promise<SiteData>;
  training?: Partial<LocalTrainingOptions>;
  personalisation?: Personalisation;
  /** Start from these weights when no local model exists yet (e.g. the shipped classifier); else seeded init. */
  initialWeights?: NamedWeights;
  initSeed?: number;
  /** A trainer shared with other apps in the same process (simulation); it is not released by close(). */
  trainer?: LocalTrainer;
}

function oneRecord(content: RecordDict, kind: FlRecord['kind'], preferred: string, required: boolean): FlRecord | undefined {
  const all = [...content].filter(([, r]) => r.kind === kind);
  if (all.length === 0) {
    if (required) throw new FlError('FL_BAD_MESSAGE', `the message carries no ${kind} record`);
    return undefined;
  }
  if (all.length > 1) {
    const p = all.find(([k]) => k === preferred);
    if (!p) throw new FlError('FL_BAD_MESSAGE', `the message carries ${all.length} ${kind} records and none is named "${preferred}"`);
    return p[1];
  }
  return all[0][1];
}

const clampInt = (v: number | undefined, lo: number, hi: number) => (v === undefined ? undefined : Math.min(hi, Math.max(lo, Math.round(v))));

export class ClassifierClientApp implements ClientApp {
  private local: NamedWeights | null = null;
  private site: SiteData | null = null;
  private trainer: LocalTrainer | null = null;
  private trainerThreads = 0;
  readonly training: LocalTrainingOptions;
  readonly personalisation: Personalisation;
  accountant = new ZcdpAccountant();

  constructor(private readonly opts: ClassifierAppOptions) {
    this.training = { ...DEFAULT_LOCAL_TRAINING, ...opts.training };
    this.personalisation = opts.personalisation ?? DEFAULT_PERSONALISATION;
  }

  private get modelPath(): string {
    return join(this.opts.stateDir, 'local-model.mfpw');
  }

  /** The local model (loaded from disk, or initialised). */
  async model(): Promise<NamedWeights> {
    if (this.local) return this.local;
    const fresh = this.opts.initialWeights ? cloneWeights(this.opts.initialWeights) : classifier.init(this.training.net, this.opts.initSeed ?? 0);
    try {
      const f = await loadWeights(this.modelPath);
      const ok = f.weights.size === fresh.size && [...fresh].every(([k, t]) => f.weights.get(k)?.shape.join(',') === t.shape.join(','));
      this.local = ok ? f.weights : fresh; // a model of another architecture (e.g. after an update) is not reused
    } catch (e) {
      if (!(e instanceof WeightsFormatError) && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.local = fresh;
    }
    try {
      const j = JSON.parse(await readFile(join(this.opts.stateDir, 'privacy.json'), 'utf8')) as { rho?: unknown; releases?: unknown };
      if (typeof j.rho === 'number' && typeof j.releases === 'number') this.accountant = new ZcdpAccountant(j.rho, j.releases);
    } catch {
      /* no spending yet */
    }
    return this.local;
  }

  /** Forget the loaded site data (e.g. the confirmed cases changed); the next round loads it again. */
  invalidateData(): void {
    this.site = null;
  }

  private async siteData(): Promise<SiteData> {
    this.site ??= await this.opts.data();
    return this.site;
  }

  private trainerFor(threads: number): LocalTrainer {
    if (this.opts.trainer) return this.opts.trainer;
    if (!this.trainer || this.trainerThreads !== threads) {
      void this.trainer?.release();
      this.trainer = new LocalTrainer({ ...this.training, threads });
      this.trainerThreads = threads;
    }
    return this.trainer;
  }

  async handle(kind: MessageKind, msg: FlMessage, ctx: HandleContext): Promise<HandleResult> {
    if (!msg.content) throw new FlError('FL_BAD_MESSAGE', 'message has no content');
    const local = await this.model();
    const names = sharedNames(local, this.personalisation);
    const arrays = oneRecord(msg.content, 'array', 'arrays', kind === 'train') as { kind: 'array'; items: Map<string, FlArray> } | undefined;
    const config = oneRecord(msg.content, 'config', 'config', false);
    const received = arrays ? fromArrays(arrays.items, local, names) : null;
    const order = arrays ? [...arrays.items.keys()] : names;
    const weights = cloneWeights(local);
    if (received) for (const [k, t] of received) weights.get(k)!.data.set(t.data);
    const receivedSha256 = received ? weightsSha256(received, order) : null;
    const site = await this.siteData();
    const threads = Math.max(1, Math.min(ctx.maxThreads, this.training.threads));
    const trainer = this.trainerFor(threads);

    if (kind === 'evaluate') {
      // never score on training cases: a site without held-out groups reports that instead of an inflated figure
      if (site.heldOut.length === 0) throw new FlError('FL_NO_DATA', 'no held-out cases to evaluate on (the site has a single group of cases)');
      const r = await trainer.evaluate(weights, site.dataset, site.heldOut);
      return {
        content: new Map([['metrics', metricRecord({ 'num-examples': BigInt(r.examples), eval_loss: r.loss, eval_acc: r.accuracy })]]),
        figures: { receivedSha256, sentSha256: null, examples: r.examples, clippingNorm: null, updateNorm: null, noiseMultiplier: 0, epsilon: null, delta: null },
        loss: r.loss, accuracy: r.accuracy,
      };
    }

    // ---- train ----
    const clippingNorm = configNumber(config, 'clipping_norm') ?? ctx.privacy.defaultClippingNorm;
    if (clippingNorm !== null && !(clippingNorm > 0)) throw new FlError('FL_BAD_MESSAGE', `clipping_norm ${clippingNorm} is not positive`);
    const z = ctx.privacy.noiseMultiplier;
    if (z > 0 && clippingNorm === null) throw new FlError('FL_POLICY_REFUSED', 'local noise needs a clipping norm: the server sent none and the site set no default');
    if (z > 0 && ctx.privacy.maxEpsilon !== null) {
      const next = new ZcdpAccountant(this.accountant.rho, this.accountant.releases);
      next.addGaussian(z);
      if (next.epsilon(ctx.privacy.delta) > ctx.privacy.maxEpsilon) {
        throw new FlError('FL_POLICY_REFUSED', `this round would spend ε = ${next.epsilon(ctx.privacy.delta).toFixed(3)} > the site's budget ${ctx.privacy.maxEpsilon}`);
      }
    }
    const lr = configNumber(config, 'lr');
    const epochs = clampInt(configNumber(config, 'local-epochs'), 1, 20);
    const seed = Number(BigInt.asUintN(32, ctx.runId * 1000003n + BigInt(Number.parseInt(ctx.round, 10) || 0)));
    const before = received ?? cloneWeights(local);
    const r = await trainer.train(weights, site.dataset, site.train, {
      seed, maxSeconds: ctx.maxRoundSeconds, signal: ctx.signal, ...(lr !== undefined && lr > 0 && lr < 1 ? { lr } : {}), ...(epochs ? { epochs } : {}),
    });
    for (const [k, t] of weights) if (!isFinite32(t.data)) throw new FlError('FL_NONFINITE', `local training produced NaN/Inf in ${k}`);

    // what is kept locally: the trained model (personal head and norms, body as trained)
    const keep = cloneWeights(weights);
    let updateNorm: number | null = null;
    if (clippingNorm !== null) updateNorm = clipUpdate(weights, before, names, clippingNorm).normBefore;
    let epsilon: number | null = null;
    if (z > 0) {
      addGaussianNoise(weights, names, z * clippingNorm!);
      this.accountant.addGaussian(z);
      epsilon = this.accountant.epsilon(ctx.privacy.delta);
      await writeFileAtomic(join(this.opts.stateDir, 'privacy.json'), new TextEncoder().encode(JSON.stringify(this.accountant)));
    }
    await saveWeights(this.modelPath, keep, { kind: 'medfedpure-fl-local-model', runId: ctx.runId.toString(), round: ctx.round });
    this.local = keep;
    const sent = toArrays(weights, order);
    return {
      content: new Map<string, FlRecord>([
        ['arrays', arrayRecord(sent)],
        ['metrics', metricRecord({ 'num-examples': BigInt(r.examples), train_loss: r.loss, train_acc: r.accuracy, steps: BigInt(r.steps) })],
      ]),
      figures: {
        receivedSha256, sentSha256: weightsSha256(weights, order), examples: r.examples, clippingNorm, updateNorm,
        noiseMultiplier: z, epsilon, delta: z > 0 ? ctx.privacy.delta : null,
      },
      loss: r.loss, accuracy: r.accuracy,
    };
  }

  async close(): Promise<void> {
    await this.trainer?.release();
    this.trainer = null;
  }
}
