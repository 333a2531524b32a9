/**
 * Terminal progress for training runs. On a TTY (stderr by default) it redraws one line in place:
 *
 *   epoch 3/10 [██████████░░░░░░░░░░]  52% step 1040/2000 loss 0.4312 lr 2.9e-4 14.2 step/s ETA 1m08s
 *
 * Elsewhere (CI logs, files, pipes) it prints a plain line at most every `plainEveryMs` (default 10 s) plus a
 * final one, so logs stay readable. Nothing is written when disabled. It only formats what the trainer reports.
 */
export interface ProgressInfo {
  phase: 'train' | 'eval' | 'checkpoint' | 'done';
  epoch: number; // 0-based epoch in progress
  epochs?: number;
  step: number; // updates done so far
  totalSteps?: number;
  loss: number; // loss of the latest step
  lossEma: number; // exponential moving average (α = 0.05) of the loss
  lr: number;
  gradNorm?: number;
  stepsPerSec: number; // measured over this process's steps
  etaSec?: number;
  metrics?: Record<string, number>; // eval metrics (phase 'eval') or step metrics
}

export interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? x.toExponential(1) : x.toFixed(4);
}

export function formatProgress(p: ProgressInfo, barWidth = 20): string {
  const parts: string[] = [];
  parts.push(`epoch ${p.epoch + 1}${p.epochs ? `/${p.epochs}` : ''}`);
  if (p.totalSteps) {
    const frac = Math.min(1, p.step / p.totalSteps);
    const full = Math.round(frac * barWidth);
    parts.push(`[${'█'.repeat(full)}${'░'.repeat(barWidth - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%`);
    parts.push(`step ${p.step}/${p.totalSteps}`);
  } else {
    parts.push(`step ${p.step}`);
  }
  parts.push(`loss ${fmt(p.lossEma)}`, `lr ${p.lr.toExponential(1)}`, `${p.stepsPerSec.toFixed(1)} step/s`);
  if (p.etaSec !== undefined) parts.push(`ETA ${formatDuration(p.etaSec)}`);
  if (p.metrics && p.phase === 'eval') parts.push(Object.entries(p.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(' '));
  return parts.join(' ');
}

export class ProgressBar {
  private lastDraw: number | null = null;
  private lastPlain: number | null = null;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly out: Writable = process.stderr,
    private readonly opts: { minIntervalMs?: number; plainEveryMs?: number; now?: () => number } = {},
  ) {
    this.tty = out.isTTY === true;
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  update(p: ProgressInfo): void {
    const t = this.now();
    const important = p.phase !== 'train';
    if (this.tty) {
      if (!important && this.lastDraw !== null && t - this.lastDraw < (this.opts.minIntervalMs ?? 100)) return;
      this.lastDraw = t;
      let line = formatProgress(p);
      const cols = this.out.columns ?? 120;
      if (line.length > cols - 1) line = line.slice(0, cols - 1);
      this.out.write(`\r${line}\x1b[K`);
      this.drawn = true;
      if (p.phase === 'eval' || p.phase === 'done') { this.out.write('\n'); this.drawn = false; }
    } else {
      if (!important) {
        if (this.lastPlain === null) { this.lastPlain = t; return; } // first line after the first interval
        if (t - this.lastPlain < (this.opts.plainEveryMs ?? 10_000)) return;
      }
      this.lastPlain = t;
      this.out.write(`${p.phase === 'train' ? '' : `[${p.phase}] `}${formatProgress(p)}\n`);
    }
  }

  /** Print a message on its own line without breaking the bar. */
  log(msg: string): void {
    if (this.tty && this.drawn) { this.out.write('\r\x1b[K'); this.drawn = false; }
    this.out.write(`${msg}\n`);
  }

  end(): void {
    if (this.tty && this.drawn) { this.out.write('\n'); this.drawn = false; }
  }
}
