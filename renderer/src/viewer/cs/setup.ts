/**
 * Cornerstone3D wiring, done once per page: core and tools initialised (GPU where WebGL exists, CPU otherwise,
 * which core decides by probing), our image loader under the `mfp:` scheme, our metadata provider, and the tools
 * registered. The renderer has no network or file access: every pixel comes decoded over the typed API
 * (`instances.frame`) through the FrameLoader, which already caches, deduplicates and prefetches.
 *
 * The loader hands Cornerstone pre-scaled pixels (modality values: our services apply rescale slope/intercept), so
 * the GPU and CPU paths and the ROI statistics all see the same numbers. Integer-valued frames (almost every MR
 * and CT) go over as Uint16/Int16 arrays, which both paths handle exactly; other frames as Float32.
 */
import {
  cache,
  getShouldUseCPURendering,
  imageLoader,
  imageLoadPoolManager,
  init as coreInit,
  isCornerstoneInitialized,
  metaData,
  utilities as csUtilities,
  type Types,
} from '@cornerstonejs/core';
import {
  AngleTool,
  ArrowAnnotateTool,
  EllipticalROITool,
  EraserTool,
  init as toolsInit,
  LengthTool,
  PanTool,
  ProbeTool,
  RectangleROITool,
  StackScrollTool,
  WindowLevelTool,
  ZoomTool,
  addTool,
} from '@cornerstonejs/tools';
import type { Frame } from '../../../../electron/features/api.js';
import { imageIdOf, uidOfImageId, viewerMetadata } from './metadata.js';

/** Where the loader gets frames from (the app's FrameLoader); set by `ensureCornerstone`. */
export interface FrameSource {
  load(uid: string, opts?: { priority?: 'now' | 'low' }): Promise<Frame>;
}

let source: FrameSource | null = null;
let ready = false;

/**
 * The WebGL renderer when it is a software rasteriser (SwiftShader, llvmpipe …), else null. Cornerstone's GPU path on a
 * software rasteriser is several times slower than its CPU path (docs/BENCHMARKS.md), so we draw on the CPU there.
 */
export function softwareWebGl(): string | null {
  try {
    const canvas = document.createElement('canvas');
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i.test(renderer) ? renderer : null;
  } catch {
    return null;
  }
}

/** Why Cornerstone draws on the CPU here ('' when it uses the GPU). */
export let cpuReason = '';

/** Initialise Cornerstone3D once; later calls only swap the frame source. */
export function ensureCornerstone(frames: FrameSource): void {
  source = frames;
  if (ready) return;
  if (!isCornerstoneInitialized()) {
    // `?render=cpu|gpu` in the address overrides the choice (for comparisons; docs/BENCHMARKS.md).
    const forced = new URLSearchParams(window.location.search).get('render');
    const software = forced === 'gpu' ? null : softwareWebGl();
    const useCpu = forced === 'cpu' || software !== null;
    coreInit(useCpu ? { rendering: { useCPURendering: true }, debug: {} } : undefined);
    cpuReason = forced === 'cpu' ? 'requested' : software ? `software WebGL (${software})` : getShouldUseCPURendering() ? 'no WebGL' : '';
  }
  toolsInit();
  imageLoader.registerImageLoader('mfp', loadImage as unknown as Types.ImageLoaderFn);
  // Our FrameLoader already orders and limits requests (the slice on screen first, then outward); Cornerstone's
  // pool would add a 5 ms timer to every slice change on top, so it starts requests at once.
  (imageLoadPoolManager as unknown as { grabDelay?: number }).grabDelay = undefined;
  metaData.addProvider((type: string, imageId: string) => viewerMetadata.get(type, imageId), 10_000);
  for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, AngleTool, EllipticalROITool, RectangleROITool, ProbeTool, ArrowAnnotateTool, EraserTool]) {
    addTool(tool);
  }
  ready = true;
}

/** 'gpu' or 'cpu': how Cornerstone draws on this machine (shown in the viewport's data attributes). */
export function renderPath(): 'gpu' | 'cpu' {
  return getShouldUseCPURendering() ? 'cpu' : 'gpu';
}

/** Drop a series' images from Cornerstone's own cache (our FrameCache keeps the decoded frames). */
export function forgetImages(uids: readonly string[]): void {
  for (const uid of uids) {
    const id = imageIdOf(uid);
    if (cache.getImageLoadObject(id)) cache.removeImageLoadObject(id, { force: true });
  }
}

function loadImage(imageId: string): Types.IImageLoadObject {
  const uid = uidOfImageId(imageId);
  const from = source;
  const promise = from
    ? from.load(uid).then((frame) => toImage(imageId, frame))
    : Promise.reject(new Error('image loader used before ensureCornerstone'));
  return { promise };
}

/** True when every value is an integer in [lo, hi] (checked fully: a frame is at most a few MB). */
function integersWithin(pixels: Float32Array, lo: number, hi: number): boolean {
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (!Number.isInteger(v) || v < lo || v > hi) return false;
  }
  return true;
}

/** A Cornerstone image over a decoded frame (modality values, already scaled). */
export function toImage(imageId: string, frame: Frame): Types.IImage {
  viewerMetadata.setFrame(imageId, frame);
  const { rows, columns, minValue, maxValue } = frame;
  let data: Uint16Array | Int16Array | Float32Array;
  let dataType: 'Uint16Array' | 'Int16Array' | 'Float32Array';
  if (minValue >= 0 && maxValue <= 65535 && integersWithin(frame.pixels, 0, 65535)) {
    data = Uint16Array.from(frame.pixels);
    dataType = 'Uint16Array';
  } else if (minValue >= -32768 && maxValue <= 32767 && integersWithin(frame.pixels, -32768, 32767)) {
    data = Int16Array.from(frame.pixels);
    dataType = 'Int16Array';
  } else {
    data = frame.pixels;
    dataType = 'Float32Array';
  }
  const voxelManager = csUtilities.VoxelManager.createImageVoxelManager({ width: columns, height: rows, scalarData: data, numberOfComponents: 1 });
  const voi = viewerMetadata.get('voiLutModule', imageId) as { windowCenter: number[]; windowWidth: number[] };
  const [rowSpacing, colSpacing] = frame.pixelSpacing ?? [1, 1];
  const modality = (viewerMetadata.get('generalSeriesModule', imageId) as { modality?: string } | undefined)?.modality;
  const image = {
    imageId,
    minPixelValue: minValue,
    maxPixelValue: maxValue,
    slope: 1,
    intercept: 0,
    windowCenter: voi.windowCenter[0],
    windowWidth: voi.windowWidth[0],
    voiLUTFunction: 'LINEAR',
    getPixelData: () => voxelManager.getScalarData(),
    getCanvas: () => { throw new Error('getCanvas is not supported for mfp: images'); },
    rows,
    columns,
    height: rows,
    width: columns,
    color: false,
    rgba: false,
    numberOfComponents: 1,
    columnPixelSpacing: colSpacing,
    rowPixelSpacing: rowSpacing,
    sliceThickness: frame.sliceThickness,
    invert: frame.photometricInterpretation === 'MONOCHROME1',
    photometricInterpretation: frame.photometricInterpretation,
    sizeInBytes: data.byteLength,
    dataType,
    isPreScaled: true,
    preScale: { enabled: true, scaled: true, scalingParameters: { modality, rescaleSlope: 1, rescaleIntercept: 0 } },
    voxelManager,
    imageFrame: { pixelData: data, rows, columns, photometricInterpretation: frame.photometricInterpretation, samplesPerPixel: 1 },
  };
  return image as unknown as Types.IImage;
}
