/**
 * One stack viewport on Cornerstone3D: the series, its slice, window/level, invert, zoom/pan, cine, the mouse tools
 * (W/L, pan, zoom, measurements) and the AI layers, behind the small imperative API the toolbar, hotkeys and AI panel
 * call. Cornerstone draws (GPU where WebGL exists, CPU otherwise) and owns the tools' annotation state; this class
 * keeps the overlay text, the data attributes tests and the AI panel read, and the slice listeners.
 *
 * The AI layers (error-map heat, purified, difference) are drawn onto Cornerstone's canvas after each render, into
 * the frame's letterbox square mapped through the viewport's own image → canvas transform, so they stay aligned
 * under pan, zoom and any aspect ratio.
 */
import { Enums, eventTarget, getRenderingEngine, utilities as csUtilities, type StackViewport, type Types } from '@cornerstonejs/core';
import { annotation as csAnnotation, Enums as ToolEnums } from '@cornerstonejs/tools';
import type { ApiClient, Frame, InstanceSummary, ScanResult, SeriesSummary, StudySummary } from '../../../electron/features/api.js';
import { letterboxRect } from '../ai/geometry.js';
import { AI_VIEWS, hasView, resultLayers, type AiView } from '../ai/layers.js';
import { errorMessage, formatDicomDate, formatPersonName } from '../util.js';
import type { FrameLoader } from './frame-cache.js';
import { outwardOrder } from './frame-cache.js';
import { dragVoi, presetsFor, presetVoi, type PresetId, type Voi, type VoiPreset } from './voi.js';
import { ENGINE_ID, renderingEngine, setPrimaryTool, toolGroup, VIEWPORT_IDS, type Tool } from './cs/engine.js';
import { annotationSync } from './cs/annotation-sync.js';
import type { AnnotationLike } from './cs/measurements.js';
import { imageIdOf, uidOfImageId, viewerMetadata } from './cs/metadata.js';
import { orientationLabels, scaleBarLength } from './cs/orientation.js';
import { cpuReason, ensureCornerstone, renderPath } from './cs/setup.js';

export type { Tool } from './cs/engine.js';

/** The low-frequency state React shows in the toolbar (never sent during a drag). */
export interface ViewportUiState {
  tool: Tool;
  invert: boolean;
  presetId: PresetId | 'custom';
  /** The window presets offered for the open series' modality (hotkeys 1..n follow this order). */
  presets: readonly VoiPreset[];
  cinePlaying: boolean;
  cineFps: number;
  hasSeries: boolean;
  error?: string;
  /** AI overlays (drawn only on slices that have a scan result): the view and the error-map heat overlay. */
  aiView: AiView;
  errorMap: boolean;
  /** Opacity of the AI layers over the image, 0..1. */
  overlayOpacity: number;
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
  /** Orientation letters at the middle of each edge. */
  orient: { left: HTMLElement; right: HTMLElement; top: HTMLElement; bottom: HTMLElement };
  /** The scale bar (hidden when no spacing is known), its line (width = the length) and its label. */
  scaleBar: HTMLElement;
  scaleLine: HTMLElement;
  scaleLabel: HTMLElement;
}

interface OpenSeries {
  study?: StudySummary;
  series: SeriesSummary;
  instances: InstanceSummary[];
  uids: string[];
  imageIds: string[];
}

const ZOOM_STEP = 1.25;

export const INITIAL_UI: ViewportUiState = {
  tool: 'wl', invert: false, presetId: 'auto', presets: presetsFor(undefined), cinePlaying: false, cineFps: 12, hasSeries: false,
  aiView: 'original', errorMap: false, overlayOpacity: 1,
};

export class ViewportController {
  private open: OpenSeries | null = null;
  private generation = 0;
  private presetId: PresetId | 'custom' = 'auto';
  private presets: readonly VoiPreset[] = presetsFor(undefined);
  private invert = false;
  private tool: Tool = 'wl';
  private cineTimer: ReturnType<typeof setInterval> | null = null;
  private cineFps = 12;
  private error: string | undefined;
  private aiView: AiView = 'original';
  private errorMapOn = false;
  private overlayOpacity = 1;
  private scanResults: ReadonlyMap<string, ScanResult> = new Map();
  private readonly sliceListeners = new Set<(s: SliceState) => void>();
  private readonly voiListeners = new Set<(v: Voi) => void>();
  private readonly annotationListeners = new Set<() => void>();
  private lastSlice: SliceState | null = null;
  private firstImageStart = 0;
  private awaitingFirstImage = false;
  private releaseHold: (() => void) | null = null;
  /** Target slice (what the user asked for); the image on screen may lag while it loads. */
  private index = 0;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly resizeObserver: ResizeObserver;
  private disposed = false;
  /** Set while a VOI is applied from a synchronised neighbour, so it is not echoed back. */
  private applyingSync = false;

  constructor(
    private readonly client: ApiClient,
    private readonly loader: FrameLoader,
    private readonly root: HTMLElement,
    private readonly element: HTMLDivElement,
    private readonly overlay: OverlayNodes,
    private readonly onUiState: (s: ViewportUiState) => void,
    /** One of VIEWPORT_IDS (cs/engine.ts): the CSP admits measurement labels only for those ids. */
    readonly viewportId: string = VIEWPORT_IDS[0],
  ) {
    ensureCornerstone(loader);
    const engine = renderingEngine();
    engine.enableElement({ viewportId: this.viewportId, element: element, type: Enums.ViewportType.STACK, defaultOptions: { background: [0, 0, 0] } });
    toolGroup().addViewport(this.viewportId, ENGINE_ID);
    this.root.dataset.renderPath = renderPath();
    if (cpuReason) this.root.dataset.cpuReason = cpuReason;
    this.root.dataset.viewportId = this.viewportId;
    const canvas = element.querySelector('canvas');
    if (canvas) {
      canvas.dataset.testid = 'viewport-canvas';
      canvas.tabIndex = 0;
      canvas.setAttribute('aria-label', 'Image viewport');
    }

    const on = (target: EventTarget, type: string, fn: (e: Event) => void) => {
      target.addEventListener(type, fn);
      this.unsubscribe.push(() => target.removeEventListener(type, fn));
    };
    on(element, Enums.Events.IMAGE_RENDERED, () => this.afterRender());
    on(element, Enums.Events.STACK_VIEWPORT_SCROLL, (e) => {
      this.index = (e as CustomEvent<{ newImageIdIndex: number }>).detail.newImageIdIndex;
      this.afterIndexChange();
    });
    on(element, Enums.Events.VOI_MODIFIED, () => {
      if (this.presetId !== 'custom' && this.dragging) { this.presetId = 'custom'; this.emitUi(); }
      this.writeOverlay();
      if (!this.applyingSync) { const v = this.currentVoi(); if (v) for (const l of this.voiListeners) l(v); }
    });
    on(element, Enums.Events.CAMERA_MODIFIED, () => this.writeOverlay());
    // A W/L drag makes the window "custom"; other VOI changes come from our own calls.
    on(element, 'pointerdown', (e) => { if ((e as PointerEvent).button === 0 && this.tool === 'wl') this.dragging = true; (canvas as HTMLElement | null)?.focus(); });
    on(window, 'pointerup', () => { this.dragging = false; });
    for (const type of [ToolEnums.Events.ANNOTATION_COMPLETED, ToolEnums.Events.ANNOTATION_MODIFIED, ToolEnums.Events.ANNOTATION_REMOVED]) {
      on(eventTarget, type, () => { for (const l of this.annotationListeners) l(); });
    }
    this.resizeObserver = new ResizeObserver(() => {
      if (!this.disposed) resizeEngine();
    });
    this.resizeObserver.observe(root);
    this.emitUi();
    this.writeOverlay();
  }

  private dragging = false;

  private get viewport(): StackViewport {
    return renderingEngine().getViewport(this.viewportId) as StackViewport;
  }

  dispose(): void {
    this.disposed = true;
    this.releaseHoldNow();
    this.stopCine();
    this.resizeObserver.disconnect();
    for (const u of this.unsubscribe) u();
    this.sliceListeners.clear();
    this.voiListeners.clear();
    this.annotationListeners.clear();
    toolGroup().removeViewports(ENGINE_ID, this.viewportId);
    if (getRenderingEngine(ENGINE_ID)) renderingEngine().disableElement(this.viewportId);
  }

  // ---------- series ----------

  get series(): SeriesSummary | null {
    return this.open?.series ?? null;
  }

  get studyUid(): string | null {
    return this.open?.series.studyInstanceUid ?? null;
  }

  /**
   * Open a series: fetch its instance list, show the first slice, prefetch outward.
   * `clickTime` (performance.now() at the user's click) starts the time-to-first-image measurement.
   */
  async openSeries(series: SeriesSummary, study: StudySummary | undefined, clickTime = performance.now(), startIndex = 0): Promise<void> {
    const gen = ++this.generation;
    this.stopCine();
    this.loader.cancelPrefetch();
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
      this.writeOverlay();
      return;
    }
    if (gen !== this.generation || this.disposed) return;
    const uids = opened.instances.map((i) => i.sopInstanceUid);
    const imageIds = viewerMetadata.addSeries(opened.series, opened.instances);
    this.open = { study, series: opened.series, instances: opened.instances, uids, imageIds };
    this.root.dataset.seriesUid = opened.series.seriesInstanceUid;
    this.index = Math.min(Math.max(0, startIndex), Math.max(0, uids.length - 1));
    this.presets = presetsFor(opened.series.modality);
    this.presetId = 'auto';
    this.invert = false;
    this.emitUi();
    this.emitSlice();
    if (uids.length === 0) { this.releaseHoldNow(); this.writeOverlay(); return; }
    try {
      await this.viewport.setStack(imageIds, this.index);
      if (gen !== this.generation || this.disposed) return;
      resizeEngine(); // a resize while the stack was loading could not reset this viewport's camera
      const vp = this.viewport;
      vp.setProperties({ invert: false, interpolationType: Enums.InterpolationType.LINEAR });
      vp.resetCamera();
      vp.render();
      void annotationSync(this.client).loadSeries(opened.series.seriesInstanceUid, this.element, vp.getFrameOfReferenceUID(), vp.getCamera()).then((n) => {
        if (this.disposed || gen !== this.generation) return;
        if (n > 0) this.viewport.render();
        for (const l of this.annotationListeners) l();
      });
    } catch (e) {
      if (gen !== this.generation) return;
      this.releaseHoldNow();
      this.error = `Slice ${this.index + 1}: ${errorMessage(e)}`;
      this.emitUi();
      this.writeOverlay();
    }
    this.prefetch();
  }

  get sliceCount(): number {
    return this.open?.uids.length ?? 0;
  }

  get currentIndex(): number {
    return this.index;
  }

  /** The frame on screen (decoded, modality values), when loaded. */
  currentFrame(): Frame | undefined {
    const uid = this.displayedUid();
    return uid ? this.loader.cache.peek(uid) : undefined;
  }

  // ---------- navigation ----------

  scroll(delta: number): void {
    const n = this.sliceCount;
    if (n === 0) return;
    this.goTo(this.index + delta);
  }

  first(): void { this.goTo(0); }
  last(): void { this.goTo(this.sliceCount - 1); }

  /** Show slice `index` (0-based, clamped). */
  goTo(index: number): void {
    const open = this.open;
    if (!open || open.uids.length === 0) return;
    const i = Math.min(open.uids.length - 1, Math.max(0, Math.round(index)));
    if (i === this.index && this.displayedUid() === open.uids[i]) return;
    this.index = i;
    this.afterIndexChange();
    this.viewport.setImageIdIndex(i).catch((e: unknown) => {
      if (this.disposed || this.open !== open) return;
      this.error = `Slice ${i + 1}: ${errorMessage(e)}`;
      this.emitUi();
      this.writeOverlay();
    });
  }

  /** The slice of this series nearest to a position along the stack normal (mm), or -1 without positions. */
  indexNearestLocation(location: number): number {
    const inst = this.open?.instances ?? [];
    let best = -1;
    let bestD = Infinity;
    inst.forEach((s, i) => {
      if (s.sliceLocation === undefined) return;
      const d = Math.abs(s.sliceLocation - location);
      if (d < bestD) { bestD = d; best = i; }
    });
    return best;
  }

  /** Position of the target slice along the stack normal, when known. */
  currentLocation(): number | undefined {
    return this.open?.instances[this.index]?.sliceLocation;
  }

  private afterIndexChange(): void {
    this.emitSlice();
    this.writeOverlay();
    this.prefetch();
    this.root.dataset.currentDrawn = String(this.displayedUid() === this.open?.uids[this.index]);
  }

  private prefetch(): void {
    const open = this.open;
    if (!open) return;
    this.loader.prefetch(outwardOrder(this.index, open.uids.length).map((k) => open.uids[k]));
  }

  /** Follow the slice on screen; the listener gets the current state at once. Returns the unsubscribe. */
  onSlice(listener: (s: SliceState) => void): () => void {
    this.sliceListeners.add(listener);
    listener(this.sliceState());
    return () => { this.sliceListeners.delete(listener); };
  }

  /** Called when the user changes the window (drag or preset); for synchronised viewports. */
  onVoi(listener: (v: Voi) => void): () => void {
    this.voiListeners.add(listener);
    return () => { this.voiListeners.delete(listener); };
  }

  /** Called when a measurement is completed, edited or removed (in any viewport). */
  onAnnotationsChanged(listener: () => void): () => void {
    this.annotationListeners.add(listener);
    return () => { this.annotationListeners.delete(listener); };
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

  /** The SOP Instance UID of the image on screen (may lag the target slice while it loads). */
  get displayedSopInstanceUid(): string | undefined {
    return this.displayedUid();
  }

  private displayedUid(): string | undefined {
    if (!this.open) return undefined;
    const image = this.safeImage();
    return image ? uidOfImageId(image.imageId) : undefined;
  }

  private safeImage(): Types.IImage | undefined {
    try {
      return this.viewport.getCornerstoneImage() ?? undefined;
    } catch {
      return undefined;
    }
  }

  private releaseHoldNow(): void {
    this.releaseHold?.();
    this.releaseHold = null;
  }

  // ---------- AI overlays ----------

  setScanResults(results: ReadonlyMap<string, ScanResult>): void {
    this.scanResults = results;
    this.redraw();
  }

  toggleErrorMap(): void {
    this.errorMapOn = !this.errorMapOn;
    this.emitUi();
    this.redraw();
  }

  setAiView(view: AiView): void {
    this.aiView = view;
    this.emitUi();
    this.redraw();
  }

  /** Opacity of the AI layers (0..1). */
  setOverlayOpacity(opacity: number): void {
    this.overlayOpacity = Math.min(1, Math.max(0, Number.isFinite(opacity) ? opacity : 1));
    this.emitUi();
    this.redraw();
  }

  cycleAiView(): void {
    this.setAiView(AI_VIEWS[(AI_VIEWS.indexOf(this.aiView) + 1) % AI_VIEWS.length]);
  }

  private redraw(): void {
    if (this.open && this.safeImage()) this.viewport.render();
    else this.afterRender();
  }

  // ---------- window / level, invert, zoom, pan ----------

  currentVoi(): Voi | null {
    if (!this.safeImage()) return null;
    let range: { lower: number; upper: number } | undefined;
    try {
      range = this.viewport.getProperties().voiRange;
    } catch {
      return null;
    }
    if (!range) return null;
    const { windowCenter, windowWidth } = csUtilities.windowLevel.toWindowLevel(range.lower, range.upper);
    return { center: windowCenter, width: windowWidth };
  }

  applyPreset(id: PresetId): void {
    const preset = this.presets.find((p) => p.id === id);
    const frame = this.currentFrame();
    if (!preset || !frame) return;
    this.presetId = id;
    this.setVoiRange(presetVoi(preset, frame));
    this.emitUi();
  }

  applyPresetNumber(n: number): void {
    const preset = this.presets[n - 1];
    if (preset) this.applyPreset(preset.id);
  }

  setVoi(voi: Voi): void {
    this.presetId = 'custom';
    this.setVoiRange({ center: voi.center, width: Math.max(1, voi.width) });
    this.emitUi();
  }

  /** Apply a window from a synchronised viewport without echoing it back. */
  syncVoi(voi: Voi): void {
    if (!this.safeImage()) return;
    this.applyingSync = true;
    try {
      this.presetId = 'custom';
      this.setVoiRange(voi);
      this.emitUi();
    } finally {
      this.applyingSync = false;
    }
  }

  /** A W/L drag step, as the mouse tool applies it (for keyboard-free tests of the maths: voi.ts dragVoi). */
  nudgeVoi(dx: number, dy: number): void {
    const v = this.currentVoi();
    const f = this.currentFrame();
    if (!v || !f) return;
    this.setVoi(dragVoi(v, dx, dy, f.maxValue - f.minValue));
  }

  private setVoiRange(voi: Voi): void {
    if (!this.safeImage()) return;
    const voiRange = csUtilities.windowLevel.toLowHighRange(voi.width, voi.center);
    this.viewport.setProperties({ voiRange });
    this.viewport.render();
  }

  toggleInvert(): void {
    if (!this.safeImage()) return;
    this.invert = !this.invert;
    this.viewport.setProperties({ invert: this.invert });
    this.viewport.render();
    this.emitUi();
    this.writeOverlay();
  }

  setTool(tool: Tool): void {
    this.tool = tool;
    setPrimaryTool(tool);
    this.emitUi();
  }

  /** The tool on the left button (the tool group is shared by every viewport of the layout). */
  get activeTool(): Tool {
    return this.tool;
  }

  zoomBy(factor: number): void {
    if (!this.safeImage()) return;
    const vp = this.viewport;
    vp.setZoom(vp.getZoom() * factor);
    vp.render();
  }
  zoomIn(): void { this.zoomBy(ZOOM_STEP); }
  zoomOut(): void { this.zoomBy(1 / ZOOM_STEP); }

  fit(): void {
    if (!this.safeImage()) return;
    this.viewport.resetCamera();
    this.viewport.render();
  }

  /** One image pixel per CSS pixel. */
  oneToOne(): void {
    const s = this.screenPixelsPerImagePixel();
    if (!s) return;
    this.zoomBy(1 / s);
  }

  /** Back to how the series opened: fit, no pan, no invert, the DICOM's window. */
  reset(): void {
    if (!this.safeImage()) return;
    this.invert = false;
    this.viewport.setProperties({ invert: false });
    this.viewport.resetCamera();
    this.applyPreset('auto');
    this.emitUi();
  }

  /** CSS pixels per image pixel along a row (the readout's "Zoom"). */
  private screenPixelsPerImagePixel(): number | undefined {
    const image = this.safeImage();
    if (!image) return undefined;
    const p = viewerMetadata.plane(image.imageId);
    if (!p) return undefined;
    try {
      const a = this.viewport.worldToCanvas(p.origin as Types.Point3);
      const b = this.viewport.worldToCanvas([
        p.origin[0] + p.columnSpacing * p.rowCosines[0],
        p.origin[1] + p.columnSpacing * p.rowCosines[1],
        p.origin[2] + p.columnSpacing * p.rowCosines[2],
      ] as Types.Point3);
      const s = Math.hypot(b[0] - a[0], b[1] - a[1]);
      return s > 0 && Number.isFinite(s) ? s : undefined;
    } catch {
      return undefined; // the image is set but not yet laid out (CPU path, between "new image" and its first render)
    }
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
      this.goTo((this.index + 1) % n);
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

  // ---------- measurements ----------

  /** The annotations drawn on this series' images (any tool), for the measurement list and persistence. */
  seriesAnnotations(): Array<{ annotation: AnnotationLike; sopInstanceUid: string; index: number }> {
    const open = this.open;
    if (!open) return [];
    const byId = new Map(open.imageIds.map((id, i) => [id, i] as const));
    const all = csAnnotation.state.getAllAnnotations() as unknown as AnnotationLike[];
    const out: Array<{ annotation: AnnotationLike; sopInstanceUid: string; index: number }> = [];
    for (const a of all) {
      const ref = a.metadata?.referencedImageId;
      const i = ref ? byId.get(ref) : undefined;
      if (i !== undefined) out.push({ annotation: a, sopInstanceUid: open.uids[i], index: i });
    }
    return out;
  }

  /** Re-render after annotations were added from storage. */
  refresh(): void {
    if (this.safeImage()) this.viewport.render();
  }

  // ---------- drawing ----------

  private afterRender(): void {
    if (this.disposed) return;
    const open = this.open;
    const image = this.safeImage();
    if (!open || !image) {
      this.root.dataset.currentDrawn = 'false';
      this.root.dataset.aiView = 'original';
      this.root.dataset.aiErrorMap = 'false';
      this.writeOverlay();
      return;
    }
    const uid = uidOfImageId(image.imageId);
    this.drawAiLayers(image.imageId, uid);
    const isCurrent = uid === open.uids[this.index];
    this.root.dataset.sliceIndex = String(this.index);
    this.root.dataset.displayedUid = uid;
    this.root.dataset.currentDrawn = String(isCurrent);
    if (isCurrent && this.awaitingFirstImage) {
      this.awaitingFirstImage = false;
      this.root.dataset.firstImageMs = (performance.now() - this.firstImageStart).toFixed(1);
      this.releaseHoldNow();
      this.prefetch();
    }
    this.writeOverlay();
  }

  /**
   * The AI layers of the image on screen (when it has a result), drawn on Cornerstone's canvas through the
   * viewport's image → canvas transform: the model image covers the letterbox square of the frame (ai/geometry.ts).
   */
  private drawAiLayers(imageId: string, uid: string): void {
    const result = this.scanResults.get(uid);
    let view: AiView = 'original';
    let heat = false;
    const plane = viewerMetadata.plane(imageId);
    const canvas = this.viewport.getCanvas();
    const ctx = canvas.getContext('2d');
    if (result && plane && ctx) {
      const layers = resultLayers(result);
      const sq = letterboxRect(plane.columns, plane.rows);
      // Frame corner coordinates (u, v; pixel centres at k + 0.5) → world → canvas (CSS px) → device px.
      const dpr = canvas.width / Math.max(1, canvas.clientWidth || canvas.width);
      const toCanvas = (u: number, v: number): Types.Point2 => {
        const w: Types.Point3 = [0, 1, 2].map((k) =>
          plane.origin[k] + (u - 0.5) * plane.columnSpacing * plane.rowCosines[k] + (v - 0.5) * plane.rowSpacing * plane.columnCosines[k]) as Types.Point3;
        const c = this.viewport.worldToCanvas(w);
        return [c[0] * dpr, c[1] * dpr];
      };
      const o = toCanvas(0, 0);
      const ux = toCanvas(1, 0);
      const vy = toCanvas(0, 1);
      ctx.save();
      ctx.globalAlpha = this.overlayOpacity;
      ctx.setTransform(ux[0] - o[0], ux[1] - o[1], vy[0] - o[0], vy[1] - o[1], o[0], o[1]);
      if (this.aiView !== 'original' && hasView(result, this.aiView)) {
        const img = this.aiView === 'purified' ? layers.purified : layers.difference;
        if (img) {
          ctx.imageSmoothingEnabled = true;
          ctx.fillStyle = '#000';
          ctx.fillRect(sq.x, sq.y, sq.side, sq.side);
          ctx.drawImage(img, sq.x, sq.y, sq.side, sq.side);
          view = this.aiView;
        }
      }
      if (this.errorMapOn && layers.heat) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(layers.heat, sq.x, sq.y, sq.side, sq.side);
        heat = true;
      }
      ctx.restore();
    }
    this.root.dataset.aiView = view;
    this.root.dataset.aiErrorMap = String(heat);
  }

  private writeOverlay(): void {
    const o = this.overlay;
    const open = this.open;
    if (!open) {
      o.topLeft.textContent = '';
      o.topRight.textContent = '';
      o.slice.textContent = '';
      o.bottomLeftExtra.textContent = this.error ?? '';
      o.wl.textContent = '';
      o.zoom.textContent = '';
      for (const n of Object.values(o.orient)) n.textContent = '';
      o.scaleBar.hidden = true;
      return;
    }
    const s = open.study;
    o.topLeft.textContent = s
      ? [formatPersonName(s.patientName) || '(no name)', `ID: ${s.patientId || '—'}`, formatDicomDate(s.studyDate), s.studyDescription ?? ''].filter(Boolean).join('\n')
      : '';
    const ser = open.series;
    o.topRight.textContent = [ser.seriesDescription || '(no description)', `Se: ${ser.seriesNumber ?? '—'}${ser.modality ? ` · ${ser.modality}` : ''}`].join('\n');
    o.slice.textContent = `Im: ${this.index + 1}/${open.uids.length}`;
    const image = this.safeImage();
    const shownUid = image ? uidOfImageId(image.imageId) : undefined;
    const loc = open.instances[this.index]?.sliceLocation;
    const extra: string[] = [];
    if (loc !== undefined) extra.push(`Loc: ${loc.toFixed(1)} mm`);
    if (shownUid && shownUid !== open.uids[this.index]) extra.push('loading…');
    if (this.error) extra.push(this.error);
    o.bottomLeftExtra.textContent = extra.join('\n');
    const voi = this.currentVoi();
    o.wl.textContent = voi ? `W: ${formatVoiNumber(voi.width)} L: ${formatVoiNumber(voi.center)}${this.invert ? ' (inv)' : ''}` : '';
    const scale = this.screenPixelsPerImagePixel();
    o.zoom.textContent = scale ? `Zoom: ${Math.round(scale * 100)}%` : '';
    this.root.classList.toggle('inverted', this.invert);

    // Orientation letters and a scale bar, from the image plane (only when the file gives patient geometry).
    const plane = image ? viewerMetadata.plane(image.imageId) : undefined;
    if (plane && plane.hasPatientGeometry && image) {
      const labels = this.orientation(plane);
      o.orient.left.textContent = labels.left;
      o.orient.right.textContent = labels.right;
      o.orient.top.textContent = labels.top;
      o.orient.bottom.textContent = labels.bottom;
    } else {
      for (const n of Object.values(o.orient)) n.textContent = '';
    }
    if (plane && scale && image) {
      const cssPerMm = scale / plane.columnSpacing;
      const bar = scaleBarLength(cssPerMm, this.root.clientWidth * 0.2);
      o.scaleBar.hidden = !bar;
      if (bar) {
        o.scaleLine.style.width = `${Math.round(bar.mm * cssPerMm)}px`;
        o.scaleLabel.textContent = bar.label;
        o.scaleBar.dataset.mm = String(bar.mm);
      }
    } else {
      o.scaleBar.hidden = true;
    }
  }

  /** Patient directions of screen right and down (through the camera, so pan/zoom/flip are all accounted for). */
  private orientation(plane: { rowCosines: number[]; columnCosines: number[] }): ReturnType<typeof orientationLabels> {
    try {
      const vp = this.viewport;
      const c = vp.canvasToWorld([10, 10]);
      const r = vp.canvasToWorld([20, 10]);
      const d = vp.canvasToWorld([10, 20]);
      const right = [r[0] - c[0], r[1] - c[1], r[2] - c[2]];
      const down = [d[0] - c[0], d[1] - c[1], d[2] - c[2]];
      if (right.every(Number.isFinite) && down.every(Number.isFinite)) return orientationLabels(right, down);
    } catch {
      /* not laid out yet: the image's own axes */
    }
    return orientationLabels(plane.rowCosines, plane.columnCosines);
  }

  private emitUi(): void {
    this.onUiState({
      tool: this.tool,
      invert: this.invert,
      presetId: this.presetId,
      presets: this.presets,
      cinePlaying: this.cineTimer !== null,
      cineFps: this.cineFps,
      hasSeries: this.open !== null,
      error: this.error,
      aiView: this.aiView,
      errorMap: this.errorMapOn,
      overlayOpacity: this.overlayOpacity,
    });
  }
}

/**
 * Resize every viewport's canvas to its element. A stack viewport whose first image is still loading cannot reset its
 * camera (Cornerstone throws); openSeries resizes again once the image is there.
 */
function resizeEngine(): void {
  try {
    renderingEngine().resize(true, true);
  } catch {
    /* see above */
  }
}

export function formatVoiNumber(v: number): string {
  return Math.abs(v) >= 10 ? String(Math.round(v)) : v.toFixed(1);
}

export { imageIdOf };
