/**
 * Permission policy: the app needs no web permission (camera, microphone, geolocation, notifications,
 * clipboard-read, HID/USB/serial, fullscreen requests from content, …), so every request and every check
 * is denied. Even an allow-listed permission is granted only to the app origin. The allow-list exists so that granting one later is a visible, reviewed one-line change.
 */
import { isAppUrl } from '../app-origin.js';

export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set<string>();

export interface PermissionQuery {
  permission: string;
  /** URL of the frame asking (Electron: webContents.getURL() / details.requestingUrl). */
  requestingUrl?: string;
}

export function decidePermission(query: PermissionQuery, allowed: ReadonlySet<string> = ALLOWED_PERMISSIONS): boolean {
  return allowed.has(query.permission) && isAppUrl(query.requestingUrl);
}
