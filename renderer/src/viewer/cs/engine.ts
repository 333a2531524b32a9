/** The page's one Cornerstone rendering engine and tool group (all viewports of the layout share them). */
import { RenderingEngine } from '@cornerstonejs/core';
import { Enums as ToolEnums, ToolGroupManager, type Types as ToolTypes } from '@cornerstonejs/tools';
import {
  AngleTool, ArrowAnnotateTool, EllipticalROITool, EraserTool, LengthTool, PanTool, ProbeTool, RectangleROITool, StackScrollTool,
  WindowLevelTool, ZoomTool,
} from '@cornerstonejs/tools';

export const ENGINE_ID = 'mfp-engine';
export const TOOL_GROUP_ID = 'mfp-viewer';

/**
 * The viewport ids of the layout's cells (at most 2×2). Fixed, because the CSP admits Cornerstone's measurement
 * label style by hash and that style names the viewport (electron/common/ui-policy.ts).
 */
export const VIEWPORT_IDS = ['mfp-vp-0', 'mfp-vp-1', 'mfp-vp-2', 'mfp-vp-3'] as const;

/** Mouse tools of the viewer, by our short names. */
export const TOOL_NAMES = {
  wl: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
  ellipse: EllipticalROITool.toolName,
  rectangle: RectangleROITool.toolName,
  probe: ProbeTool.toolName,
  arrow: ArrowAnnotateTool.toolName,
  eraser: EraserTool.toolName,
} as const;

export type Tool = keyof typeof TOOL_NAMES;
export const TOOLS = Object.keys(TOOL_NAMES) as Tool[];
export const ANNOTATION_TOOLS: readonly Tool[] = ['length', 'angle', 'ellipse', 'rectangle', 'probe', 'arrow'];

let engine: RenderingEngine | null = null;
let group: ToolTypes.IToolGroup | null = null;

export function renderingEngine(): RenderingEngine {
  if (!engine) engine = new RenderingEngine(ENGINE_ID);
  return engine;
}

/** Arrow labels come from here (a prompt() is not available in Electron). */
let arrowText: (done: (text: string) => void) => void = (done) => done('');
export function setArrowTextProvider(fn: (done: (text: string) => void) => void): void {
  arrowText = fn;
}

export function toolGroup(): ToolTypes.IToolGroup {
  if (group) return group;
  const g = ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
  if (!g) throw new Error('could not create the viewer tool group');
  for (const name of Object.values(TOOL_NAMES)) {
    if (name === ArrowAnnotateTool.toolName) {
      g.addTool(name, {
        getTextCallback: (done: (t: string) => void) => arrowText(done),
        changeTextCallback: (_data: unknown, _evt: unknown, done: (t: string) => void) => arrowText(done),
      });
    } else {
      g.addTool(name);
    }
  }
  g.addTool(StackScrollTool.toolName);
  // Fixed bindings: middle button pans, right button zooms, the wheel scrolls the stack.
  g.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Auxiliary }] });
  g.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Secondary }] });
  g.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Wheel }] });
  group = g;
  setPrimaryTool('wl');
  return g;
}

/** Bind the left button to `tool`; annotation tools not in use stay passive, so their drawings can be edited. */
export function setPrimaryTool(tool: Tool): void {
  const g = toolGroup();
  for (const t of TOOLS) {
    const name = TOOL_NAMES[t];
    if (t === tool) continue;
    if (t === 'pan') g.setToolActive(name, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Auxiliary }] });
    else if (t === 'zoom') g.setToolActive(name, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Secondary }] });
    else if (ANNOTATION_TOOLS.includes(t)) g.setToolPassive(name);
    else g.setToolDisabled(name);
  }
  const bindings: Array<{ mouseButton: ToolEnums.MouseBindings }> = [{ mouseButton: ToolEnums.MouseBindings.Primary }];
  if (tool === 'pan') bindings.push({ mouseButton: ToolEnums.MouseBindings.Auxiliary });
  if (tool === 'zoom') bindings.push({ mouseButton: ToolEnums.MouseBindings.Secondary });
  g.setToolActive(TOOL_NAMES[tool], { bindings });
}
