/**
 * The engine core, the same in both hosts: loads the models and their calibration once, owns the defence pipeline
 * (one onnxruntime session per model and batch bucket), and serves scans through a queue.
 *
 * Queue: a request is checked on arrival (a bad one is rejected alone, with a typed error, and never reaches a
 * batch), then waits up to `batchWindowMs` for company; requests with the same options run together as one batch
 * of up to `maxBatch` images. One batch runs at a time (the CPU is shared; sessions use intra-op threads), and
 * whatever arrives meanwhile forms the next batch. A failing batch rejects its own requests; the engine goes on.
 */
import type { RpcHandlers } from '../../core/port-rpc.js';
import { DefencePipeline, validateImage, DEFENCE_MODES, type PipelineResult, type ScanOptions } from '../pipeline/pipeline.js';
import { PipelineError } from '../pipeline/errors.js';
import { loadModelBundle, type LoadOptions, type ModelBundle } from '../pipeline/models.js';
import { readCalibration, type Calibration } from '../pipeline/calibrate.js';
import type { EpName } from '../../core/runtime/ep.js';
import type { EngineMethods, EngineScanRequest, EngineStatus } from './protocol.js';

export interface EngineOptions extends LoadOptions {
  ep?: EpName | 'auto';
  threads?: number;
  maxBatch?: number;
  /** How long a request waits for others to batch with (default 2 ms). */
  batchWindowMs?: number;
  /** Calibration to use; default: read the one stored for the loaded models (none → adaptive scans refused). */
  calibration?: Calibration | null;
  /** Pre-loaded models (tests); default: loadModelBundle(). */
  models?: ModelBundle;
  /** Build the batch-1 sessions before serving (default true). */
  warmup?: boolean;
}

interface Pending {
  pixels: Float32Array;
  options: ScanOptions;
  key: string;
  resolve(r: PipelineResult): void;
  reject(e: unknown): void;
}

const REQUEST_FIELDS = new Set(['image', 'options']);
const OPTION_FIELDS = new Set(['mode', 'seed', 'steps', 'fixedTStar', 'expectVersions', 'threshold']);

/** Checks an engine.scan request's fields (no label, no extras) and its image. */
export function checkScanRequest(req: unknown, size: number): { pixels: Float32Array; options: ScanOptions } {
  if (typeof req !== 'object' || req === null) throw new PipelineError('E_INPUT_FIELDS', 'request must be { image, options? }');
  for (const k of Object.keys(req)) {
    if (!REQUEST_FIELDS.has(k)) throw new PipelineError('E_INPUT_FIELDS', `unexpected field "${k}" in a scan request${/label|target|class/i.test(k) ? ' (the inference API never takes a label)' : ''}`);
  }
  const r = req as Partial<EngineScanRequest>;
  const pixels = validateImage(r.image, size);
  const o = (r.options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw new PipelineError('E_INPUT_FIELDS', 'options must be an object');
  for (const k of Object.keys(o)) if (!OPTION_FIELDS.has(k)) throw new PipelineError('E_INPUT_FIELDS', `unknown option "${k}"`);
  if (o.mode !== undefined && !DEFENCE_MODES.includes(o.mode as never)) throw new PipelineError('E_OPTION', `unknown mode ${String(o.mode)}`);
  for (const k of ['seed', 'steps', 'fixedTStar'] as const) {
    if (o[k] !== undefined && !Number.isInteger(o[k])) throw new PipelineError('E_OPTION', `${k} must be an integer`);
  }
  if (o.threshold !== undefined && !(typeof o.threshold === 'number' && Number.isFinite(o.threshold) && o.threshold > 0)) throw new PipelineError('E_OPTION', 'threshold must be a positive finite number');
  return { pixels, options: o as ScanOptions };
}

export class EngineCore {
  private readonly pending: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private closed = false;
  private batchesRun = 0;
  private scansRun = 0;
  /** Sizes of the batches run so far (most recent last, at most 1000). */
  readonly batchSizes: number[] = [];
  readonly maxBatch: number;
  readonly batchWindowMs: number;

  private constructor(readonly pipeline: DefencePipeline, opts: EngineOptions) {
    this.maxBatch = opts.maxBatch ?? 16;
    this.batchWindowMs = opts.batchWindowMs ?? 2;
  }

  static async create(opts: EngineOptions = {}): Promise<EngineCore> {
    const models = opts.models ?? (await loadModelBundle(opts));
    const calibration = opts.calibration !== undefined ? opts.calibration : await readCalibration(models);
    // One intra-op thread by default: measured faster than 2 on the shared 2-core VM (docs/BENCHMARKS.md, Inference latency).
    const pipeline = await DefencePipeline.create({ models, calibration, ep: opts.ep ?? 'auto', threads: opts.threads ?? 1, maxBatch: opts.maxBatch });
    const core = new EngineCore(pipeline, opts);
    if (opts.warmup ?? true) await core.warmup();
    return core;
  }

  /** Creates the batch-1 sessions by scanning a blank image once (untimed, not counted). */
  async warmup(): Promise<void> {
    const S = this.pipeline.size;
    const img = { width: S, height: S, pixels: new Float32Array(S * S) };
    await this.pipeline.scan([img], { mode: 'purify-all', steps: 1 });
    if (this.pipeline.calibration) await this.pipeline.scan([img], { mode: 'adaptive' });
  }

  scan(req: EngineScanRequest): Promise<PipelineResult> {
    if (this.closed) return Promise.reject(new PipelineError('E_ENGINE', 'engine closed'));
    let checked: { pixels: Float32Array; options: ScanOptions };
    try {
      checked = checkScanRequest(req, this.pipeline.size);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<PipelineResult>((resolve, reject) => {
      this.pending.push({ ...checked, key: JSON.stringify(checked.options), resolve, reject });
      if (this.pending.length >= this.maxBatch) this.kick(0);
      else this.kick(this.batchWindowMs);
    });
  }

  private kick(delay: number): void {
    if (this.running) return; // the running batch picks the queue up when it ends
    if (this.timer !== null) {
      if (delay > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, delay);
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const key = this.pending[0].key;
        const batch: Pending[] = [];
        for (let i = 0; i < this.pending.length && batch.length < this.maxBatch; ) {
          if (this.pending[i].key === key) batch.push(...this.pending.splice(i, 1));
          else i++;
        }
        const S = this.pipeline.size;
        try {
          const results = await this.pipeline.scan(batch.map((p) => ({ width: S, height: S, pixels: p.pixels })), batch[0].options);
          this.batchesRun++;
          this.scansRun += batch.length;
          this.batchSizes.push(batch.length);
          if (this.batchSizes.length > 1000) this.batchSizes.shift();
          batch.forEach((p, i) => p.resolve(results[i]));
        } catch (e) {
          batch.forEach((p) => p.reject(e));
        }
      }
    } finally {
      this.running = false;
    }
  }

  status(): EngineStatus {
    return {
      ready: !this.closed,
      ...this.pipeline.status(),
      queue: { pending: this.pending.length, batchesRun: this.batchesRun, scansRun: this.scansRun, maxBatch: this.maxBatch, batchWindowMs: this.batchWindowMs },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.pending.splice(0)) p.reject(new PipelineError('E_ENGINE', 'engine closed'));
    await this.pipeline.release();
  }
}

/**
 * RPC handlers over a core that may still be loading: status answers at once (ready: false while loading, with the
 * error when loading failed); scans wait for the core, or fail with the load error's code.
 */
export function engineHandlers(core: Promise<EngineCore>): RpcHandlers<EngineMethods> {
  let loaded: EngineCore | null = null;
  let failed: { code: string; message: string } | null = null;
  core.then(
    (c) => (loaded = c),
    (e: { code?: unknown; message?: unknown }) => (failed = { code: typeof e?.code === 'string' ? e.code : 'E_ENGINE', message: String(e?.message ?? e) }),
  );
  return {
    'engine.status': () => (loaded ? loaded.status() : failed ? { ready: false, error: failed } : { ready: false }),
    'engine.scan': async (req) => (await core).scan(req),
  };
}
