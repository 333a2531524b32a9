/** React hook: the slice on screen in a viewport controller (re-renders only the components that use it). */
import { useEffect, useState } from 'react';
import type { SliceState, ViewportController } from '../viewer/viewport-controller.js';

export function useSlice(viewport: ViewportController | null): SliceState | null {
  const [slice, setSlice] = useState<SliceState | null>(null);
  useEffect(() => {
    if (!viewport) { setSlice(null); return undefined; }
    return viewport.onSlice(setSlice);
  }, [viewport]);
  return slice;
}
