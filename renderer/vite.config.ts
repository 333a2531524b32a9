/**
 * Vite build of the React renderer into dist/renderer. `base: './'` makes every asset URL relative, so the
 * same build loads from the HTTP host (`/`) and from Electron's custom protocol or a file URL.
 * No inline scripts/styles are emitted (the pages run under a strict CSP).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The modulepreload polyfill is an inline-capable snippet; Chromium/Electron support modulepreload natively.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
