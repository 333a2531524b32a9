/**
 * One e2e session per describe block: `medfedpure serve` on a fresh data folder, Debian Chromium, and one browser
 * context at the workstation's reference viewport (1400 × 850). Registers the before/after hooks; read `server`
 * and `context` from the returned object inside tests. `openApp` loads the app signed in as one of the accounts
 * the server support created (the session cookie is shared by the context's pages).
 */
import { after, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { E2E_USERS, startServer, type E2eUser, type RunningServer } from './server.js';

export interface E2eSession {
  readonly server: RunningServer;
  readonly context: BrowserContext;
}

export function useE2eSession(opts: { users?: readonly E2eUser[] } = {}): E2eSession {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  before(async () => {
    server = await startServer(opts);
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

/** Fills and submits the sign-in form (which must be showing), then waits for the app's header. */
export async function signIn(page: Page, user: Pick<E2eUser, 'username' | 'password'>): Promise<void> {
  await page.getByTestId('sign-in-username').fill(user.username);
  await page.getByTestId('sign-in-password').fill(user.password);
  await page.getByTestId('sign-in-submit').click();
  await page.locator(`[data-testid=who][data-username="${user.username}"]`).waitFor();
}

/**
 * Loads the app signed in as `user` (default: the radiologist): signs in when the sign-in form shows, or signs out
 * first when the context is signed in as someone else.
 */
export async function openApp(page: Page, url: string, user: Pick<E2eUser, 'username' | 'password'> = E2E_USERS.radiologist): Promise<void> {
  await page.goto(url);
  const who = page.getByTestId('who');
  const form = page.getByTestId('sign-in-form');
  await who.or(form).first().waitFor();
  if (await who.isVisible()) {
    if ((await who.getAttribute('data-username')) === user.username) return;
    await page.getByTestId('sign-out').click();
    await form.waitFor();
  }
  await signIn(page, user);
}

/** Load the app, open the demo study and its 24-slice axial series, and wait until its first slice is drawn. */
export async function openDemoAxial(page: Page, url: string): Promise<void> {
  await openApp(page, url);
  const row = page.getByTestId('study-row').filter({ hasText: DEMO_PATIENT_ID });
  await row.waitFor();
  await row.click();
  const thumb = page.getByTestId('series-thumb').filter({ hasText: '24 im' });
  await thumb.waitFor();
  await thumb.click();
  await page.waitForSelector('[data-testid=viewport][data-first-image-ms]');
  await page.waitForSelector('[data-testid=viewport][data-current-drawn=true]');
}
