/**
 * Keeps Cornerstone's measurements and the study store in step: loads a series' stored annotations when a viewport
 * opens it, and saves an instance's annotations (annotations.save, audited by the service) a moment after one is
 * drawn, edited or erased. One instance per page, so two viewports showing one series never save twice.
 */
import { eventTarget, type Types } from '@cornerstonejs/core';
import { annotation as csAnnotation, Enums as ToolEnums } from '@cornerstonejs/tools';
import type { ApiClient } from '../../../../electron/features/api.js';
import { errorMessage } from '../../util.js';
import { fromStored, toStored, type AnnotationLike } from './measurements.js';
import { imageIdOf, uidOfImageId } from './metadata.js';

const SAVE_DELAY_MS = 400;

export type SaveState = { state: 'idle' } | { state: 'saving' } | { state: 'saved'; at: string } | { state: 'error'; message: string };

export class AnnotationSync {
  private readonly loadedSeries = new Set<string>();
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly listeners = new Set<(s: SaveState) => void>();
  private status: SaveState = { state: 'idle' };
  /** True while stored annotations are being added (their events are not user edits). */
  private restoring = false;

  constructor(private readonly client: ApiClient) {
    const onChange = (e: Event) => {
      if (this.restoring) return;
      const detail = (e as CustomEvent<{ annotation?: AnnotationLike; changeType?: string }>).detail;
      if (e.type === ToolEnums.Events.ANNOTATION_MODIFIED && detail.changeType === ToolEnums.ChangeTypes.StatsUpdated) return;
      const ref = detail.annotation?.metadata?.referencedImageId;
      if (ref && ref.startsWith('mfp:')) this.schedule(ref);
    };
    for (const type of [ToolEnums.Events.ANNOTATION_COMPLETED, ToolEnums.Events.ANNOTATION_MODIFIED, ToolEnums.Events.ANNOTATION_REMOVED]) {
      eventTarget.addEventListener(type, onChange);
    }
  }

  onStatus(fn: (s: SaveState) => void): () => void {
    this.listeners.add(fn);
    fn(this.status);
    return () => { this.listeners.delete(fn); };
  }

  private setStatus(s: SaveState): void {
    this.status = s;
    for (const l of this.listeners) l(s);
  }

  /** Add a series' stored annotations to Cornerstone (once per page), on the viewport's element. */
  async loadSeries(seriesInstanceUid: string, element: HTMLDivElement, frameOfReferenceUID: string, camera: Types.ICamera): Promise<number> {
    if (this.loadedSeries.has(seriesInstanceUid)) return 0;
    this.loadedSeries.add(seriesInstanceUid);
    let stored;
    try {
      stored = await this.client.invoke('annotations.list', { seriesInstanceUid });
    } catch (e) {
      this.loadedSeries.delete(seriesInstanceUid);
      this.setStatus({ state: 'error', message: `Could not load measurements: ${errorMessage(e)}` });
      return 0;
    }
    let n = 0;
    this.restoring = true;
    try {
      for (const inst of stored) {
        const imageId = imageIdOf(inst.sopInstanceUid);
        for (const s of inst.annotations) {
          if (csAnnotation.state.getAnnotation(s.uid)) continue;
          const a = fromStored(s, imageId, frameOfReferenceUID, { viewPlaneNormal: camera.viewPlaneNormal as number[], viewUp: camera.viewUp as number[] });
          csAnnotation.state.addAnnotation(a as unknown as Parameters<typeof csAnnotation.state.addAnnotation>[0], element);
          n++;
        }
      }
    } finally {
      this.restoring = false;
    }
    return n;
  }

  private schedule(imageId: string): void {
    const t = this.pending.get(imageId);
    if (t) clearTimeout(t);
    this.pending.set(imageId, setTimeout(() => { this.pending.delete(imageId); void this.save(imageId); }, SAVE_DELAY_MS));
  }

  /** Save now whatever is waiting (e.g. before the page goes). */
  async flush(): Promise<void> {
    const ids = [...this.pending.keys()];
    for (const id of ids) { clearTimeout(this.pending.get(id)); this.pending.delete(id); }
    await Promise.all([...ids.map((id) => this.save(id)), ...this.inFlight]);
  }

  private async save(imageId: string): Promise<void> {
    const all = csAnnotation.state.getAllAnnotations() as unknown as AnnotationLike[];
    const mine = all.filter((a) => a.metadata?.referencedImageId === imageId).map(toStored).filter((s) => s !== null);
    this.setStatus({ state: 'saving' });
    const p = this.client.invoke('annotations.save', { sopInstanceUid: uidOfImageId(imageId), annotations: mine });
    this.inFlight.add(p);
    try {
      const r = await p;
      this.setStatus({ state: 'saved', at: r.updatedUtc });
    } catch (e) {
      this.setStatus({ state: 'error', message: `Measurements not saved: ${errorMessage(e)}` });
    } finally {
      this.inFlight.delete(p);
    }
  }
}

let sync: AnnotationSync | null = null;

/** The page's one AnnotationSync (created on first use with the app's client). */
export function annotationSync(client: ApiClient): AnnotationSync {
  if (!sync) sync = new AnnotationSync(client);
  return sync;
}
