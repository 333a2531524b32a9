/**
 * IPC sender validation (after VS Code's validatedIpcMain): a message is served only when it comes from
 * the main frame of one of our own windows and that frame is showing the app origin. Subframes, other
 * webContents, frames that navigated away or were destroyed, and foreign origins are all refused.
 *
 * Works on structural types so it can be tested without Electron; Electron's IpcMainInvokeEvent fits.
 */
import { isAppUrl } from '../app-origin.js';

export interface FrameLike {
  readonly url: string;
  readonly parent: unknown;
  readonly processId: number;
  readonly routingId: number;
  readonly detached?: boolean;
}

export interface IpcEventLike {
  readonly sender: { readonly id: number; readonly mainFrame: FrameLike };
  readonly senderFrame: FrameLike | null;
}

export type SenderRejection = 'untrusted-webcontents' | 'no-frame' | 'not-main-frame' | 'foreign-origin';

export type SenderCheck = { ok: true } | { ok: false; reason: SenderRejection; url?: string };

/**
 * @param trustedWebContentsIds ids of the webContents of windows this app created (BrowserWindow.webContents.id).
 */
export function validateSender(event: IpcEventLike, trustedWebContentsIds: ReadonlySet<number>): SenderCheck {
  try {
    if (!trustedWebContentsIds.has(event.sender.id)) return { ok: false, reason: 'untrusted-webcontents' };
    const frame = event.senderFrame;
    if (frame === null || frame === undefined || frame.detached === true) return { ok: false, reason: 'no-frame' };
    const main = event.sender.mainFrame;
    const isMainFrame =
      frame.parent === null && frame.processId === main.processId && frame.routingId === main.routingId;
    if (!isMainFrame) return { ok: false, reason: 'not-main-frame', url: frame.url };
    if (!isAppUrl(frame.url)) return { ok: false, reason: 'foreign-origin', url: frame.url };
    return { ok: true };
  } catch {
    // Touching a frame that was torn down mid-check can throw in Electron; that is a refusal, not a crash.
    return { ok: false, reason: 'no-frame' };
  }
}
