/**
 * OHIF-like viewer hotkeys: a table from keys to viewer commands, so the bindings are readable in one place
 * (and shown in the help line). Keys typed into form fields are ignored.
 */
import type { ViewportController } from './viewport-controller.js';

export interface Hotkey {
  keys: string[];
  label: string;
  run: (v: ViewportController, key: string) => void;
}

export const HOTKEYS: readonly Hotkey[] = [
  { keys: ['ArrowDown', 'PageDown'], label: 'next image', run: (v) => v.scroll(1) },
  { keys: ['ArrowUp', 'PageUp'], label: 'previous image', run: (v) => v.scroll(-1) },
  { keys: ['Home'], label: 'first image', run: (v) => v.first() },
  { keys: ['End'], label: 'last image', run: (v) => v.last() },
  { keys: ['i', 'I'], label: 'invert', run: (v) => v.toggleInvert() },
  { keys: [' '], label: 'reset', run: (v) => v.reset() },
  { keys: ['=', '+'], label: 'zoom in', run: (v) => v.zoomIn() },
  { keys: ['-', '_'], label: 'zoom out', run: (v) => v.zoomOut() },
  { keys: ['f', 'F'], label: 'fit', run: (v) => v.fit() },
  { keys: ['w', 'W'], label: 'W/L tool', run: (v) => v.setTool('wl') },
  { keys: ['p', 'P'], label: 'pan tool', run: (v) => v.setTool('pan') },
  { keys: ['z', 'Z'], label: 'zoom tool', run: (v) => v.setTool('zoom') },
  { keys: ['l', 'L'], label: 'length', run: (v) => v.setTool('length') },
  { keys: ['a', 'A'], label: 'angle', run: (v) => v.setTool('angle') },
  { keys: ['o', 'O'], label: 'ellipse ROI', run: (v) => v.setTool('ellipse') },
  { keys: ['r', 'R'], label: 'rectangle ROI', run: (v) => v.setTool('rectangle') },
  { keys: ['b', 'B'], label: 'probe', run: (v) => v.setTool('probe') },
  { keys: ['t', 'T'], label: 'arrow + text', run: (v) => v.setTool('arrow') },
  { keys: ['x', 'X'], label: 'eraser', run: (v) => v.setTool('eraser') },
  { keys: ['c', 'C'], label: 'cine play/stop', run: (v) => v.toggleCine() },
  { keys: ['e', 'E'], label: 'AI error map', run: (v) => v.toggleErrorMap() },
  { keys: ['v', 'V'], label: 'AI view (original/purified/difference)', run: (v) => v.cycleAiView() },
  { keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9'], label: 'W/L preset (as listed)', run: (v, key) => v.applyPresetNumber(Number(key)) },
];

const byKey = new Map<string, Hotkey>(HOTKEYS.flatMap((h) => h.keys.map((k) => [k, h] as const)));

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

/** Install the hotkeys on `window`; returns the uninstall function. */
export function installHotkeys(getViewport: () => ViewportController | null): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    const hk = byKey.get(e.key);
    const v = getViewport();
    if (!hk || !v) return;
    e.preventDefault();
    hk.run(v, e.key);
  };
  window.addEventListener('keydown', onKey);
  return () => window.removeEventListener('keydown', onKey);
}

/** A short help text: "↓/PgDn next image · ...". */
export function hotkeyHelp(): string {
  const show = (k: string) => ({ ArrowDown: '↓', ArrowUp: '↑', PageDown: 'PgDn', PageUp: 'PgUp', ' ': 'Space' } as Record<string, string>)[k] ?? k;
  return HOTKEYS.map((h) => {
    const keys = [...new Set(h.keys.map((k) => show(k.length === 1 ? k.toUpperCase() : k)))];
    return `${keys.length > 3 ? `${keys[0]}–${keys[keys.length - 1]}` : keys.join('/')} ${h.label}`;
  }).join(' · ');
}
