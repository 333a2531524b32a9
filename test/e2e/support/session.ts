/**
 * One e2e session per describe block: `medfedpure serve` on a fresh data folder, Debian Chromium, and one browser
 * context at the workstation's reference viewport (1400 × 850). Registers the before/after hooks; read `server`
 * and `context` from the returned object inside tests.
 */
import { after, before } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
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
