/**
 * The studies feature's service: the audited operations on the local study store (list, open, frames, import).
 *
 * Audited here: every import (DCM 110107) and every series open (DCM 110103 Instances Accessed, purpose 'view').
 * Opening a series also warms the frame cache in the background, a few frames at a time between requests.
 */
import { resolve } from 'node:path';
import type { FeatureHandlers } from '../../node/router/router.js';
import type { EventSink } from '../../node/services/event-bus.js';
import type { AuditStore } from '../audit/audit-store.js';
import { importEvent, instancesAccessed, type AuditActor } from '../audit/events.js';
import type { ImportResult, InstanceSummary, SeriesSummary, studiesApi } from './api.js';
import { collectPaths, importSources, type ImportSource } from './store/importer.js';
import type { StudyStore } from './store/study-store.js';

type StudiesEvents = { 'studies.changed': { studyInstanceUids: string[] }; 'import.progress': { done: number; total: number; file: string } };

export interface StudiesService {
  readonly handlers: FeatureHandlers<typeof studiesApi>;
  /** Audited as DICOM Instances Accessed; warms the frame cache for the series in the background. */
  openSeries(seriesInstanceUid: string): { series: SeriesSummary; instances: InstanceSummary[] };
  /** Imports bytes (UI upload); audited. */
  importFiles(files: ReadonlyArray<{ name: string; bytes: Uint8Array }>): Promise<ImportResult>;
  /** Imports files/folders/DICOMDIR from disk; audited. */
  importPaths(paths: readonly string[]): Promise<ImportResult>;
  /** Stops background prefetching. */
  close(): void;
}

export function createStudiesService(ctx: { studies: StudyStore; audit: AuditStore; actor: AuditActor; events: EventSink<StudiesEvents> }): StudiesService {
  const { studies, audit, actor, events } = ctx;
  let closed = false;
  let prefetchGeneration = 0;

  /** Decodes the series' frames into the cache a few at a time, between requests; a newer open cancels it. */
  function prefetch(instances: InstanceSummary[]): void {
    const generation = ++prefetchGeneration;
    // Start from the middle (where the viewer opens) and work outwards.
    const mid = Math.floor(instances.length / 2);
    const order = instances.map((_, i) => i).sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid));
    let next = 0;
    const step = async (): Promise<void> => {
      if (generation !== prefetchGeneration || closed) return;
      const until = Date.now() + 8;
      while (next < order.length && Date.now() < until) {
        try {
          await studies.getFrameAsync(instances[order[next]].sopInstanceUid);
        } catch {
          /* reported when the UI asks for that frame */
        }
        next++;
      }
      if (next < order.length) setImmediate(() => void step());
    };
    setImmediate(() => void step());
  }

  async function audited(sources: readonly ImportSource[], source: Record<string, unknown>, initial: { errors?: ImportResult['errors']; skipped?: number } = {}): Promise<ImportResult> {
    const result = await importSources(studies, sources, {
      initialErrors: initial.errors,
      initialSkipped: initial.skipped,
      onProgress: (p) => events.emit('import.progress', p),
    });
    const patients = result.studies.map((uid) => studies.patientOfStudy(uid)?.patientId).filter((p): p is string => p !== undefined);
    audit.append(importEvent(actor, result, patients, source));
    if (result.imported > 0) events.emit('studies.changed', { studyInstanceUids: result.studies });
    return result;
  }

  const service: StudiesService = {
    openSeries(seriesInstanceUid) {
      const series = studies.getSeries(seriesInstanceUid);
      const instances = studies.listInstances(seriesInstanceUid);
      const patient = studies.patientOfStudy(series.studyInstanceUid);
      audit.append(
        instancesAccessed(actor, { studyInstanceUid: series.studyInstanceUid, patientId: patient?.patientId }, {
          seriesInstanceUid,
          instances: instances.length,
          purpose: 'view',
        }),
      );
      prefetch(instances);
      return { series, instances };
    },
    importFiles(files) {
      const sources = files.map((f) => ({ name: f.name, read: () => f.bytes }));
      return audited(sources, { source: 'upload', files: files.length });
    },
    importPaths(paths) {
      const collected = collectPaths(paths);
      return audited(collected.sources, { source: 'filesystem', paths: paths.map((p) => resolve(p)) }, { errors: collected.errors, skipped: collected.skipped.length });
    },
    close() {
      closed = true;
    },
    handlers: {
      'studies.list': (r) => studies.listStudies(r.query),
      'studies.series': (r) => studies.listSeries(r.studyInstanceUid),
      'series.open': (r) => service.openSeries(r.seriesInstanceUid),
      'instances.frame': (r) => studies.getFrameAsync(r.sopInstanceUid, r.frame ?? 0),
      'annotations.list': (r) => studies.listAnnotations(r.seriesInstanceUid),
      'annotations.save': (r) => {
        const updatedUtc = new Date().toISOString();
        const where = studies.saveAnnotations(r.sopInstanceUid, r.annotations, actor.userId, updatedUtc);
        const patient = studies.patientOfStudy(where.studyInstanceUid);
        const tools: Record<string, number> = {};
        for (const a of r.annotations) tools[a.tool] = (tools[a.tool] ?? 0) + 1;
        // DCM 110103 Instances Accessed, action Update: measurements are derived data about the instance.
        audit.append({
          ...instancesAccessed(actor, { studyInstanceUid: where.studyInstanceUid, patientId: patient?.patientId }, {
            purpose: 'annotate',
            seriesInstanceUid: where.seriesInstanceUid,
            sopInstanceUid: r.sopInstanceUid,
            annotations: r.annotations.length,
            tools,
          }),
          action: 'U',
        });
        return { saved: r.annotations.length, updatedUtc };
      },
      'import.files': (r) => service.importFiles(r.files),
    },
  };
  return service;
}
