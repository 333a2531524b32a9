/**
 * The stack viewport, driven imperatively (outside React's render cycle) so W/L drags and scrolling stay smooth.
 *
 * It owns a visible canvas and a few overlay text nodes. State changes only mark the view dirty; one
 * requestAnimationFrame redraws. The decoded frame is mapped through the window into an offscreen canvas
 * (only when frame, window or invert change) and then drawn with a transform for zoom and pan.
 * Scrolling never waits for a fetch: it draws the nearest already-loaded slice and asks the loader for
 * the right one, which is drawn when it arrives.
 */
import type { ApiClient, Frame, InstanceSummary, ScanResult, SeriesSummary, StudySummary } from '../../../electron/features/api.js';
import { letterboxRect } from '../ai/geometry.js';
import { AI_VIEWS, hasView, resultLayers, type AiView } from '../ai/layers.js';
import { FrameLoader, nearestLoaded, outwardOrder } from './frame-cache.js';
import { errorMessage, formatDicomDate, formatPersonName } from '../util.js';
import { VOI_PRESETS, dragVoi, presetVoi, renderVoi, type PresetId, type Voi } from './voi.js';

export type Tool = 'wl' | 'pan' | 'zoom';

/** The low-frequency state React shows in the toolbar (never sent during a drag). */
export interface ViewportUiState {
  tool: Tool;
  invert: boolean;
  presetId: PresetId | 'custom';
  cinePlaying: boolean;
  cineFps: number;
  hasSeries: boolean;
  error?: string;
  /** AI overlays (drawn only on slices that have a scan result): the view and the error-map heat overlay. */
  aiView: AiView;
  errorMap: boolean;
}

/** The slice on screen, for the components that follow it (AI panel, slice marks). */
export interface SliceState {
  index: number;
  count: number;
  seriesInstanceUid: string | null;
  sopInstanceUid: string | null;
  uids: readonly string[];
}

export interface OverlayNodes {
  topLeft: HTMLElement;
  topRight: HTMLElement;
  slice: HTMLElement;
  bottomLeftExtra: HTMLElement;
  wl: HTMLElement;
  zoom: HTMLElement;
}

interface OpenSeries {
  study?: StudySummary;
  series: SeriesSummary;
  instances: InstanceSummary[];
  uids: string[];
}

const ZOOM_STEP = 1.25;
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 40;
const WHEEL_STEP_PX = 50;

export class ViewportController {
  private open: OpenSeries | null = null;
  private generation = 0;
  private index = 0;
  private voi: Voi | null = null;
  private presetId: PresetId | 'custom' = 'auto';
  private invert = false;
  /** Zoom relative to "fit"; 1 = the whole image fits. */
  private zoom = 1;
  /** Pan offset of the image centre from the canvas centre, CSS pixels. */
  private panX = 0;
  private panY = 0;
  private tool: Tool = 'wl';
  private cineTimer: ReturnType<typeof setInterval> | null = null;
  private cineFps = 12;
  private error: string | undefined;
  private aiView: AiView = 'original';
  private errorMapOn = false;
  private scanResults: ReadonlyMap<string, ScanResult> = new Map();
  private readonly sliceListeners = new Set<(s: SliceState) => void>();
  private lastSlice: SliceState | null = null;

  private raf = 0;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly offscreen = document.createElement('canvas');
  private readonly offCtx: CanvasRenderingContext2D;
  private imageData: ImageData | null = null;
  /** What the offscreen canvas currently holds. */
  private rendered: { frame: Frame; center: number; width: number; invert: boolean } | null = null;

  private firstImageStart = 0;
  /** Releases the loader hold taken while a series opens (see FrameLoader.hold). */
  private releaseHold: (() => void) | null = null;
  private awaitingFirstImage = false;
  private wheelAccum = 0;
  private drag: { mode: Tool; x: number; y: number; voi: Voi; zoom: number; panX: number; panY: number; range: number } | null = null;

  private readonly unsubscribe: Array<() => void> = [];
  private readonly resizeObserver: ResizeObserver;

  constructor(
    private readonly client: ApiClient,
    private readonly loader: FrameLoader,
    private readonly root: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    private readonly overlay: OverlayNodes,
    private readonly onUiState: (s: ViewportUiState) => void,
  ) {
    const ctx = canvas.getContext('2d', { alpha: false });
    const offCtx = this.offscreen.getContext('2d');
    if (!ctx || !offCtx) throw new Error('2D canvas is not available');
    this.ctx = ctx;
    this.offCtx = offCtx;

    this.unsubscribe.push(loader.onFrame((f) => this.onFrameArrived(f)));
    this.resizeObserver = new ResizeObserver(() => this.invalidate());
    this.resizeObserver.observe(root);

    const on = <K extends keyof HTMLElementEventMap>(type: K, fn: (e: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions) => {
      canvas.addEventListener(type, fn as EventListener, opts);
      this.unsubscribe.push(() => canvas.removeEventListener(type, fn as EventListener, opts));
    };
    on('pointerdown', (e) => this.onPointerDown(e));
    on('pointermove', (e) => this.onPointerMove(e));
    on('pointerup', (e) => this.onPointerUp(e));
    on('pointercancel', (e) => this.onPointerUp(e));
    on('wheel', (e) => this.onWheel(e), { passive: false });
    on('contextmenu', (e) => e.preventDefault());
    on('dblclick', () => this.fit());
    this.invalidate();
    this.emitUi();
  }

  dispose(): void {
    this.releaseHoldNow();
    this.stopCine();
    cancelAnimationFrame(this.raf);
    this.resizeObserver.disconnect();
    for (const u of this.unsubscribe) u();
    this.sliceListeners.clear();
    this.loader.cancelPrefetch();
  }

  // ---------- series ----------

  /**
   * Open a series: fetch its instance list, then the first slice first, then prefetch outward.
   * `clickTime` (performance.now() at the user's click) starts the time-to-first-image measurement.
   */
  async openSeries(series: SeriesSummary, study: StudySummary | undefined, clickTime = performance.now()): Promise<void> {
    const gen = ++this.generation;
    this.stopCine();
    this.loader.cancelPrefetch();
    // Until the first image is on screen, nothing else (thumbnails, prefetch) may compete with it.
    this.releaseHold?.();
    this.releaseHold = this.loader.hold();
    this.firstImageStart = clickTime;
    this.awaitingFirstImage = true;
    this.root.removeAttribute('data-first-image-ms');
    this.root.dataset.currentDrawn = 'false';
    this.error = undefined;
    let opened: { series: SeriesSummary; instances: InstanceSummary[] };
    try {
      opened = await this.client.invoke('series.open', { seriesInstanceUid: series.seriesInstanceUid });
    } catch (e) {
      if (gen !== this.generation) return;
      this.releaseHoldNow();
      this.error = `Could not open series: ${errorMessage(e)}`;
      this.emitUi();
      this.invalidate();
      return;
    }
    if (gen !== this.generation) return;
    const uids = opened.instances.map((i) => i.sopInstanceUid);
    this.open = { study, series: opened.series, instances: opened.instances, uids };
    this.root.dataset.seriesUid = opened.series.seriesInstanceUid;
    this.index = 0;
    this.voi = null;
    this.presetId = 'auto';
    this.invert = false;
    this.zoom = 1;
    this.panX = this.panY = 0;
    this.rendered = null;
    this.emitUi();
    if (uids.length === 0) this.releaseHoldNow();
    this.showIndex(0);
    this.emitSlice();
  }

  get sliceCount(): number {
    return this.open?.uids.length ?? 0;
  }

  get currentIndex(): number {
    return this.index;
  }

  // ---------- navigation ----------

  scroll(delta: number): void {
    const n = this.sliceCount;
    if (n === 0) return;
    this.showIndex(Math.min(n - 1, Math.max(0, this.index + delta)));
  }

  first(): void { this.showIndex(0); }
  last(): void { this.showIndex(this.sliceCount - 1); }
  /** Show slice `index` (0-based, clamped). */
  goTo(index: number): void { this.showIndex(index); }

  /** Follow the slice on screen; the listener gets the current state at once. Returns the unsubscribe. */
  onSlice(listener: (s: SliceState) => void): () => void {
    this.sliceListeners.add(listener);
    listener(this.sliceState());
    return () => { this.sliceListeners.delete(listener); };
  }

  private sliceState(): SliceState {
    const open = this.open;
    return {
      index: this.index,
      count: open?.uids.length ?? 0,
      seriesInstanceUid: open?.series.seriesInstanceUid ?? null,
      sopInstanceUid: open?.uids[this.index] ?? null,
      uids: open?.uids ?? [],
    };
  }

  private emitSlice(): void {
    const s = this.sliceState();
    const l = this.lastSlice;
    if (l && l.index === s.index && l.sopInstanceUid === s.sopInstanceUid && l.uids === s.uids) return;
    this.lastSlice = s;
    for (const fn of this.sliceListeners) fn(s);
  }

  // ---------- AI overlays ----------

  /** The scan results to overlay, by SOP Instance UID (the latest per slice). */
  setScanResults(results: ReadonlyMap<string, ScanResult>): void {
    this.scanResults = results;
    this.invalidate();
  }

  toggleErrorMap(): void {
    this.errorMapOn = !this.errorMapOn;
    this.emitUi();
    this.invalidate();
  }

  setAiView(view: AiView): void {
    this.aiView = view;
    this.emitUi();
    this.invalidate();
  }

  /** Original → Purified → Difference → Original. */
  cycleAiView(): void {
    this.setAiView(AI_VIEWS[(AI_VIEWS.indexOf(this.aiView) + 1) % AI_VIEWS.length]);
  }

  private showIndex(i: number): void {
    const open = this.open;
    if (!open || open.uids.length === 0) return;
    this.index = Math.min(open.uids.length - 1, Math.max(0, i));
    this.emitSlice();
    const uid = open.uids[this.index];
    const gen = this.generation;
    const prefetch = () => {
      if (gen === this.generation) this.loader.prefetch(outwardOrder(this.index, open.uids.length).map((k) => open.uids[k]));
    };
    if (this.loader.cache.has(uid)) {
      prefetch();
    } else {
      // The slice on screen first; neighbours only once it is here, so they do not compete with it.
      this.loader.load(uid).then(prefetch, (e) => {
        if (gen === this.generation) {
          this.releaseHoldNow();
          this.error = `Slice ${this.index + 1}: ${errorMessage(e)}`;
          this.emitUi();
          this.invalidate();
        }
        prefetch();
      });
    }
    this.invalidate();
  }

  private onFrameArrived(frame: Frame): void {
    const open = this.open;
    if (!open) return;
    // Redraw when the arrival is better than what is on screen (the current slice, or nearer to it).
    const shown = this.rendered?.frame.sopInstanceUid;
    if (shown === open.uids[this.index]) return;
    if (open.uids.includes(frame.sopInstanceUid)) this.invalidate();
  }

  private releaseHoldNow(): void {
    this.releaseHold?.();
    this.releaseHold = null;
  }

  // ---------- window / level, invert, zoom, pan ----------

  applyPreset(id: PresetId): void {
    const preset = VOI_PRESETS.find((p) => p.id === id);
    const frame = this.currentFrame();
    if (!preset) return;
    this.presetId = id;
    if (frame) this.voi = presetVoi(preset, frame);
    else this.voi = null; // applied when the first frame arrives
    this.emitUi();
    this.invalidate();
  }

  applyPresetNumber(n: number): void {
    const preset = VOI_PRESETS[n - 1];
    if (preset) this.applyPreset(preset.id);
  }

  setVoi(voi: Voi): void {
    this.voi = { center: voi.center, width: Math.max(1, voi.width) };
    this.presetId = 'custom';
    this.emitUi();
    this.invalidate();
  }

  toggleInvert(): void {
    this.invert = !this.invert;
    this.emitUi();
    this.invalidate();
  }

  setTool(tool: Tool): void {
    this.tool = tool;
    this.emitUi();
  }

  zoomBy(factor: number): void {
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    this.invalidate();
  }
  zoomIn(): void { this.zoomBy(ZOOM_STEP); }
  zoomOut(): void { this.zoomBy(1 / ZOOM_STEP); }

  fit(): void {
    this.zoom = 1;
    this.panX = this.panY = 0;
    this.invalidate();
  }

  /** One image pixel per CSS pixel. */
  oneToOne(): void {
    const frame = this.currentFrame();
    if (!frame) return;
    this.zoom = 1 / this.fitScale(frame);
    this.panX = this.panY = 0;
    this.invalidate();
  }

  /** Back to how the series opened: fit, no pan, no invert, the DICOM's window. */
  reset(): void {
    this.invert = false;
    this.fit();
    this.applyPreset('auto');
  }

  // ---------- cine ----------

  setCineFps(fps: number): void {
    this.cineFps = Math.min(60, Math.max(1, Math.round(fps)));
    if (this.cineTimer) { this.stopCine(); this.startCine(); }
    this.emitUi();
  }

  startCine(): void {
    if (this.cineTimer || this.sliceCount < 2) return;
    this.cineTimer = setInterval(() => {
      const n = this.sliceCount;
      if (n < 2) return this.stopCine();
      this.showIndex((this.index + 1) % n);
    }, 1000 / this.cineFps);
    this.emitUi();
  }

  stopCine(): void {
    if (!this.cineTimer) return;
    clearInterval(this.cineTimer);
    this.cineTimer = null;
    this.emitUi();
  }

  toggleCine(): void {
    if (this.cineTimer) this.stopCine();
    else this.startCine();
  }

  // ---------- pointer input ----------

  private onPointerDown(e: PointerEvent): void {
    const frame = this.currentFrame();
    if (!frame || !this.voi) return;
    const mode: Tool = e.button === 1 ? 'pan' : e.button === 2 ? 'zoom' : this.tool;
    this.canvas.setPointerCapture(e.pointerId);
    this.canvas.focus();
    this.drag = {
      mode, x: e.clientX, y: e.clientY, voi: { ...this.voi }, zoom: this.zoom, panX: this.panX, panY: this.panY,
      range: frame.maxValue - frame.minValue,
    };
    e.preventDefault();
  }

  private onPointerMove(e: PointerEvent): void {
    const d = this.drag;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (d.mode === 'wl') {
      this.voi = dragVoi(d.voi, dx, dy, d.range);
      if (this.presetId !== 'custom') { this.presetId = 'custom'; this.emitUi(); }
    } else if (d.mode === 'pan') {
      this.panX = d.panX + dx;
      this.panY = d.panY + dy;
    } else {
      this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, d.zoom * Math.exp(-dy / 200)));
    }
    this.invalidate();
  }

  private onPointerUp(e: PointerEvent): void {
    if (!this.drag) return;
    this.drag = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const px = e.deltaMode === WheelEvent.DOM_DELTA_LINE ? e.deltaY * 16 : e.deltaMode === WheelEvent.DOM_DELTA_PAGE ? e.deltaY * 400 : e.deltaY;
    if (Math.sign(px) !== Math.sign(this.wheelAccum)) this.wheelAccum = 0;
    this.wheelAccum += px;
    const steps = Math.trunc(this.wheelAccum / WHEEL_STEP_PX);
    if (steps !== 0) {
      this.wheelAccum -= steps * WHEEL_STEP_PX;
      this.scroll(steps > 0 ? 1 : -1); // one slice per notch, however fast the wheel spins
    }
  }

  // ---------- drawing ----------

  /** Mark the view dirty; the next animation frame redraws once. */
  invalidate(): void {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.draw();
    });
  }

  /** The frame for the current slice, or the nearest loaded one while it is on its way. */
  private currentFrame(): Frame | undefined {
    const open = this.open;
    if (!open) return undefined;
    const k = nearestLoaded(this.index, open.uids, this.loader.cache);
    return k >= 0 ? this.loader.cache.peek(open.uids[k]) : undefined;
  }

  private fitScale(frame: Frame): number {
    const { width, height } = this.cssSize();
    const aspect = pixelAspect(frame);
    return Math.min(width / frame.columns, height / (frame.rows * aspect));
  }

  private cssSize(): { width: number; height: number } {
    const r = this.root.getBoundingClientRect();
    return { width: Math.max(1, r.width), height: Math.max(1, r.height) };
  }

  private draw(): void {
    const { width, height } = this.cssSize();
    const dpr = window.devicePixelRatio || 1;
    const pw = Math.round(width * dpr);
    const ph = Math.round(height * dpr);
    if (this.canvas.width !== pw || this.canvas.height !== ph) {
      this.canvas.width = pw;
      this.canvas.height = ph;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, pw, ph);

    const frame = this.currentFrame();
    const open = this.open;
    if (frame && open) {
      if (!this.voi) {
        const preset = VOI_PRESETS.find((p) => p.id === this.presetId) ?? VOI_PRESETS[0];
        this.voi = presetVoi(preset, frame);
      }
      this.renderOffscreen(frame, this.voi);
      const scale = this.fitScale(frame) * this.zoom;
      const aspect = pixelAspect(frame);
      ctx.setTransform(dpr * scale, 0, 0, dpr * scale * aspect, dpr * (width / 2 + this.panX), dpr * (height / 2 + this.panY));
      ctx.imageSmoothingEnabled = scale < 1;
      ctx.drawImage(this.offscreen, -frame.columns / 2, -frame.rows / 2);
      this.drawAiLayers(frame);
      ctx.setTransform(1, 0, 0, 1, 0, 0);

      const isCurrent = frame.sopInstanceUid === open.uids[this.index];
      this.root.dataset.sliceIndex = String(this.index);
      this.root.dataset.displayedUid = frame.sopInstanceUid;
      this.root.dataset.currentDrawn = String(isCurrent);
      if (isCurrent && this.awaitingFirstImage) {
        this.awaitingFirstImage = false;
        const ms = performance.now() - this.firstImageStart;
        this.root.dataset.firstImageMs = ms.toFixed(1);
        this.releaseHoldNow();
      }
      this.writeOverlay(frame, isCurrent, scale);
    } else {
      this.root.dataset.currentDrawn = 'false';
      this.root.dataset.aiView = 'original';
      this.root.dataset.aiErrorMap = 'false';
      this.writeOverlay(undefined, false, 0);
    }
  }

  /**
   * The AI layers of the frame on screen (when it has a result), in frame pixel coordinates under the current
   * transform: the model image covers the letterbox square of the frame (ai/geometry.ts).
   */
  private drawAiLayers(frame: Frame): void {
    const result = this.scanResults.get(frame.sopInstanceUid);
    let view: AiView = 'original';
    let heat = false;
    if (result) {
      const layers = resultLayers(result);
      const sq = letterboxRect(frame.columns, frame.rows);
      const x = sq.x - frame.columns / 2;
      const y = sq.y - frame.rows / 2;
      const ctx = this.ctx;
      if (this.aiView !== 'original' && hasView(result, this.aiView)) {
        const img = this.aiView === 'purified' ? layers.purified : layers.difference;
        if (img) {
          // Model-space pixels drawn as blocks: the reader sees the real (low) resolution the model worked at.
          ctx.imageSmoothingEnabled = false;
          ctx.fillStyle = '#000';
          ctx.fillRect(x, y, sq.side, sq.side);
          ctx.drawImage(img, x, y, sq.side, sq.side);
          view = this.aiView;
        }
      }
      if (this.errorMapOn && layers.heat) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(layers.heat, x, y, sq.side, sq.side);
        heat = true;
      }
    }
    this.root.dataset.aiView = view;
    this.root.dataset.aiErrorMap = String(heat);
  }

  private renderOffscreen(frame: Frame, voi: Voi): void {
    const r = this.rendered;
    if (r && r.frame === frame && r.center === voi.center && r.width === voi.width && r.invert === this.invert) return;
    if (this.offscreen.width !== frame.columns || this.offscreen.height !== frame.rows || !this.imageData) {
      this.offscreen.width = frame.columns;
      this.offscreen.height = frame.rows;
      this.imageData = this.offCtx.createImageData(frame.columns, frame.rows);
    }
    renderVoi(frame, voi, this.invert, this.imageData.data);
    this.offCtx.putImageData(this.imageData, 0, 0);
    this.rendered = { frame, center: voi.center, width: voi.width, invert: this.invert };
  }

  private writeOverlay(frame: Frame | undefined, isCurrent: boolean, scale: number): void {
    const o = this.overlay;
    const open = this.open;
    if (!open) {
      o.topLeft.textContent = '';
      o.topRight.textContent = '';
      o.slice.textContent = '';
      o.bottomLeftExtra.textContent = this.error ?? '';
      o.wl.textContent = '';
      o.zoom.textContent = '';
      return;
    }
    const s = open.study;
    o.topLeft.textContent = s
      ? [formatPersonName(s.patientName) || '(no name)', `ID: ${s.patientId || '—'}`, formatDicomDate(s.studyDate), s.studyDescription ?? ''].filter(Boolean).join('\n')
      : '';
    const ser = open.series;
    o.topRight.textContent = [
      ser.seriesDescription || '(no description)',
      `Se: ${ser.seriesNumber ?? '—'}${ser.modality ? ` · ${ser.modality}` : ''}`,
    ].join('\n');
    o.slice.textContent = `Im: ${this.index + 1}/${open.uids.length}`;
    const loc = open.instances[this.index]?.sliceLocation;
    const extra: string[] = [];
    if (loc !== undefined) extra.push(`Loc: ${loc.toFixed(1)} mm`);
    if (frame && !isCurrent) extra.push('loading…');
    if (this.error) extra.push(this.error);
    o.bottomLeftExtra.textContent = extra.join('\n');
    o.wl.textContent = this.voi ? `W: ${formatVoiNumber(this.voi.width)} L: ${formatVoiNumber(this.voi.center)}${this.invert ? ' (inv)' : ''}` : '';
    o.zoom.textContent = frame ? `Zoom: ${Math.round(scale * 100)}%` : '';
  }

  private emitUi(): void {
    this.onUiState({
      tool: this.tool,
      invert: this.invert,
      presetId: this.presetId,
      cinePlaying: this.cineTimer !== null,
      cineFps: this.cineFps,
      hasSeries: this.open !== null,
      error: this.error,
      aiView: this.aiView,
      errorMap: this.errorMapOn,
    });
  }
}

/** Displayed height of one pixel relative to its width (PixelSpacing is [row spacing, column spacing]). */
function pixelAspect(frame: Frame): number {
  const ps = frame.pixelSpacing;
  if (!ps || !(ps[0] > 0) || !(ps[1] > 0)) return 1;
  return ps[0] / ps[1];
}

export function formatVoiNumber(v: number): string {
  return Math.abs(v) >= 10 ? String(Math.round(v)) : v.toFixed(1);
}
