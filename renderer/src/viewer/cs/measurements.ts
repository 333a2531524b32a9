/**
 * Readings of the measurement tools (what a radiologist reads off a Length, Angle, ROI, Probe or Arrow), from a
 * Cornerstone annotation's cached statistics, plus conversion to and from the stored form (studies feature:
 * StoredAnnotation). DOM-free (unit-tested in Node).
 */
import { ANNOTATION_TOOLS, type AnnotationTool, type StoredAnnotation } from '../../../../electron/features/studies/api.js';

/** The bits of a Cornerstone annotation the viewer reads and writes. */
export interface AnnotationLike {
  annotationUID?: string;
  metadata: { toolName: string; referencedImageId?: string; FrameOfReferenceUID?: string; [k: string]: unknown };
  data: {
    handles: { points: number[][]; [k: string]: unknown };
    cachedStats?: Record<string, Record<string, unknown>>;
    label?: string;
    text?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface Reading {
  /** The tool's label, e.g. "Length". */
  kind: string;
  /** The reading, e.g. "100.04 mm" or "mean 100.0 HU, SD 0.0, area 314.2 mm²". */
  text: string;
  /** The main number, for tests and sorting (length in mm, angle in degrees, ROI mean, probe value). */
  value?: number;
  /** More numbers by name (mean, stdDev, area, min, max). */
  values: Record<string, number>;
  unit?: string;
}

const KIND: Record<AnnotationTool, string> = {
  Length: 'Length', Angle: 'Angle', EllipticalROI: 'Ellipse', RectangleROI: 'Rectangle', Probe: 'Probe', ArrowAnnotate: 'Arrow',
};

export function isStoredTool(name: string): name is AnnotationTool {
  return (ANNOTATION_TOOLS as readonly string[]).includes(name);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Fixed decimals that suit the size of the number. */
export function formatNumber(v: number, decimals = 2): string {
  return v.toFixed(Math.abs(v) >= 1000 ? 0 : Math.abs(v) >= 100 ? Math.min(decimals, 1) : decimals);
}

function firstStats(a: AnnotationLike): Record<string, unknown> {
  const all = a.data.cachedStats ?? {};
  for (const k of Object.keys(all)) return all[k] ?? {};
  return {};
}

/** An arrow's text (Cornerstone keeps it in data.label; older versions used data.text). */
function arrowText(a: AnnotationLike): string {
  const t = a.data.label || a.data.text;
  return typeof t === 'string' ? t : '';
}

/** The reading of an annotation (undefined readings while its statistics are not computed yet). */
export function readingOf(a: AnnotationLike): Reading {
  const tool = a.metadata.toolName;
  const kind = isStoredTool(tool) ? KIND[tool] : tool;
  const s = firstStats(a);
  const values: Record<string, number> = {};
  for (const key of ['length', 'angle', 'mean', 'stdDev', 'area', 'min', 'max', 'value']) {
    const v = num(s[key]);
    if (v !== undefined) values[key] = v;
  }
  const unit = typeof s.unit === 'string' ? s.unit : undefined;
  const modalityUnit = typeof s.modalityUnit === 'string' ? s.modalityUnit : '';
  const areaUnit = typeof s.areaUnit === 'string' ? s.areaUnit : 'mm²';
  switch (tool) {
    case 'Length':
      return values.length === undefined ? { kind, text: '…', values } : { kind, text: `${values.length.toFixed(2)} ${unit ?? 'mm'}`, value: values.length, values, unit: unit ?? 'mm' };
    case 'Angle':
      return values.angle === undefined ? { kind, text: '…', values } : { kind, text: `${values.angle.toFixed(1)}°`, value: values.angle, values, unit: '°' };
    case 'EllipticalROI':
    case 'RectangleROI': {
      if (values.mean === undefined) return { kind, text: '…', values };
      const u = modalityUnit ? ` ${modalityUnit}` : '';
      const parts = [`mean ${formatNumber(values.mean, 1)}${u}`];
      if (values.stdDev !== undefined) parts.push(`SD ${formatNumber(values.stdDev, 1)}`);
      if (values.area !== undefined) parts.push(`area ${formatNumber(values.area, 1)} ${areaUnit}`);
      if (values.min !== undefined && values.max !== undefined) parts.push(`range ${formatNumber(values.min, 0)}…${formatNumber(values.max, 0)}`);
      return { kind, text: parts.join(' · '), value: values.mean, values, unit: modalityUnit };
    }
    case 'Probe':
      return values.value === undefined ? { kind, text: '…', values } : { kind, text: `${formatNumber(values.value, 1)}${modalityUnit ? ` ${modalityUnit}` : ''}`, value: values.value, values, unit: modalityUnit };
    case 'ArrowAnnotate':
      return { kind, text: arrowText(a) ? `“${arrowText(a)}”` : '(no text)', values };
    default:
      return { kind, text: '', values };
  }
}

/** The stored form of an annotation (points in patient mm), or null for tools that are not stored. */
export function toStored(a: AnnotationLike): StoredAnnotation | null {
  const tool = a.metadata.toolName;
  if (!isStoredTool(tool) || !a.annotationUID) return null;
  const points = a.data.handles.points
    .filter((p) => p.length >= 3 && p.slice(0, 3).every(Number.isFinite))
    .slice(0, 16)
    .map((p) => [p[0], p[1], p[2]] as [number, number, number]);
  if (points.length === 0) return null;
  const out: StoredAnnotation = { uid: a.annotationUID.slice(0, 64), tool, points };
  if (tool === 'ArrowAnnotate' && arrowText(a)) out.text = arrowText(a).slice(0, 500);
  const r = readingOf(a);
  if (r.text && r.text !== '…') out.summary = r.text.slice(0, 200);
  return out;
}

/** A Cornerstone annotation for a stored one, on image `imageId` of a viewport whose camera is given. */
export function fromStored(
  s: StoredAnnotation,
  imageId: string,
  frameOfReferenceUID: string,
  camera: { viewPlaneNormal: number[]; viewUp: number[] },
): AnnotationLike {
  const zero = [0, 0, 0];
  return {
    annotationUID: s.uid,
    highlighted: false,
    invalidated: true,
    isLocked: false,
    isVisible: true,
    metadata: {
      toolName: s.tool,
      referencedImageId: imageId,
      FrameOfReferenceUID: frameOfReferenceUID,
      viewPlaneNormal: [...camera.viewPlaneNormal],
      viewUp: [...camera.viewUp],
    },
    data: {
      handles: {
        points: s.points.map((p) => [...p]),
        activeHandleIndex: null,
        textBox: { hasMoved: false, worldPosition: [...zero], worldBoundingBox: { topLeft: [...zero], topRight: [...zero], bottomLeft: [...zero], bottomRight: [...zero] } },
      },
      label: s.tool === 'ArrowAnnotate' ? s.text ?? '' : '',
      cachedStats: {},
    },
  };
}
