/**
 * Viewer benchmark (docs/BENCHMARKS.md): time to first image and scroll frame time, in headless Debian Chromium
 * against `medfedpure serve` on a fresh data folder (the demo 24-slice axial MR series).
 *
 *  - first image, cold: click on the demo study (nothing decoded or cached yet) → first slice drawn
 *    (the viewport's data-first-image-ms, measured in the page from the click's performance.now()).
 *  - first image, warm: click on the series thumbnail again (frames cached) → first slice drawn.
 *  - scroll: ArrowDown through the stack, RUNS times; per step the time from the key event to the frame that
 *    shows the new slice (requestAnimationFrame after the viewport reports the slice drawn); p50 / p95 / max.
 *
 * Usage: node --import tsx scripts/bench-viewer.ts [runs=3] [--render=cpu|gpu]   (renderer must be built: npm run build:renderer)
 * By default Chromium runs with --disable-gpu as the e2e tests do (Cornerstone then draws with WebGL on SwiftShader
 * if available, else on the CPU; the page says which: data-render-path).
 */
import { launchChromium } from '../test/e2e/support/chromium.js';
import { startServer } from '../test/e2e/support/server.js';

const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3);
/** `--render=cpu|gpu`: the viewer's ?render= override (Cornerstone's CPU or WebGL path); default: the viewer's choice. */
const render = process.argv.find((a) => a.startsWith('--render='))?.slice('--render='.length);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function main(): Promise<void> {
  const server = await startServer();
  const browser = await launchChromium();
  const cold: number[] = [];
  const warm: number[] = [];
  const steps: number[] = [];
  let renderPath = 'n/a';
  try {
    for (let run = 0; run < runs; run++) {
      // A fresh context per run: nothing cached in the page. (The server's decoded-frame cache stays warm after
      // run 1, so runs 2.. measure the page side; run 1 is the truly cold start.)
      const context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
      const page = await context.newPage();
      await page.goto(render ? `${server.url}&render=${render}` : server.url);
      const row = page.getByTestId('study-row').filter({ hasText: 'DEMO-COLIN27' });
      await row.waitFor();
      await row.click();
      await page.waitForSelector('[data-testid=viewport][data-first-image-ms]');
      cold.push(Number(await page.getByTestId('viewport').getAttribute('data-first-image-ms')));
      renderPath = (await page.getByTestId('viewport').getAttribute('data-render-path')) ?? 'canvas2d (hand-written)';
      const thumb = page.getByTestId('series-thumb').filter({ hasText: '24 im' });
      await page.waitForSelector('[data-testid=series-thumb] canvas[data-drawn=true]');
      await thumb.click();
      await page.waitForSelector('[data-testid=viewport][data-first-image-ms]');
      warm.push(Number(await page.getByTestId('viewport').getAttribute('data-first-image-ms')));
      await page.waitForSelector('[data-testid=viewport][data-current-drawn=true]');
      await page.getByTestId('viewport-canvas').focus();
      // Let the prefetch finish so the scroll measures drawing, as a reader scrolls after the series opened.
      await page.waitForTimeout(1500);
      for (let i = 0; i < 23; i++) {
        // (a string: this file compiles without the DOM lib)
        const ms = (await page.evaluate(`(async () => {
          const want = 'Im: ${i + 2}/24';
          const vp = document.querySelector('[data-testid=viewport]');
          const t0 = performance.now();
          window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
          for (;;) {
            await new Promise((r) => requestAnimationFrame(() => r(null)));
            const slice = document.querySelector('[data-testid=overlay-slice]')?.textContent ?? '';
            if (slice === want && vp.dataset.currentDrawn === 'true') return performance.now() - t0;
            if (performance.now() - t0 > 5000) return NaN;
          }
        })()`)) as number;
        steps.push(ms);
      }
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const f = (x: number) => x.toFixed(1);
  console.log(JSON.stringify({ renderPath, runs, firstImageColdMs: cold, firstImageWarmMs: warm }));
  console.log(`first image cold: run 1 ${f(cold[0])} ms, median ${f(pct(cold, 50))} ms`);
  console.log(`first image warm: median ${f(pct(warm, 50))} ms`);
  const ok = steps.filter(Number.isFinite);
  console.log(`scroll step (key → frame showing the slice), n=${ok.length}: p50 ${f(pct(ok, 50))} ms, p95 ${f(pct(ok, 95))} ms, max ${f(Math.max(...ok))} ms${ok.length < steps.length ? `, ${steps.length - ok.length} timed out` : ''}`);
}

await main();
