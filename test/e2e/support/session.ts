/**
 * One e2e session per describe block: `medfedpure serve` on a fresh data folder, Debian Chromium, and one browser
 * context at the workstation's reference viewport (1400 × 850). Registers the before/after hooks; read `server`
 * and `context` from the returned object inside tests.
 */
import { after, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startServer, type RunningServer } from './server.js';

export interface E2eSession {
  readonly server: RunningServer;
  readonly context: BrowserContext;
}

export function useE2eSession(): E2eSession {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  before(async () => {
    server = await startServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });
  return {
    get server() { if (!server) throw new Error('e2e session not started'); return server; },
    get context() { if (!context) throw new Error('e2e session not started'); return context; },
  };
}

/** Patient ID of the demo study that `medfedpure serve` imports on first start (build/demo-data). */
export const DEMO_PATIENT_ID = 'DEMO-COLIN27';

/** Load the app, open the demo study and its 24-slice axial series, and wait until its first slice is drawn. */
export async function openDemoAxial(page: Page, url: string): Promise<void> {
  await page.goto(url);
  const row = page.getByTestId('study-row').filter({ hasText: DEMO_PATIENT_ID });
  await row.waitFor();
  await row.click();
  const thumb = page.getByTestId('series-thumb').filter({ hasText: '24 im' });
  await thumb.waitFor();
  await thumb.click();
  await page.waitForSelector('[data-testid=viewport][data-first-image-ms]');
  await page.waitForSelector('[data-testid=viewport][data-current-drawn=true]');
}
