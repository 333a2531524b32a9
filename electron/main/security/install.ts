/**
 * Applies the security policies to Electron objects: the session (permissions, CSP headers, outgoing
 * requests, spellchecker downloads) and every webContents (navigation, window.open, <webview>).
 * The decisions themselves are pure functions in this folder; this file is the thin glue.
 *
 * Takes Electron objects as parameters (types only), so the glue is exercised in tests with fakes.
 */
import type { Session, WebContents } from 'electron';
import { withSecurityHeaders } from './csp.js';
import { decideNavigation, decideWindowOpen } from './navigation.js';
import { decidePermission } from './permissions.js';
import { decideOutgoingRequest } from './requests.js';

export interface SecurityNotice {
  kind: 'navigation-blocked' | 'window-open-blocked' | 'webview-blocked' | 'permission-denied' | 'request-blocked';
  url?: string;
  detail?: string;
}

export interface SecurityHooks {
  /** Opens an allow-listed https URL in the OS browser (Electron: shell.openExternal). */
  openExternal: (url: string) => Promise<void>;
  /** Called for every refusal; main.ts logs these and audits the serious ones. */
  onNotice: (notice: SecurityNotice) => void;
}

type SessionLike = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'setSpellCheckerEnabled'> & {
  webRequest: Pick<Session['webRequest'], 'onHeadersReceived' | 'onBeforeRequest'>;
};

export function installSessionSecurity(session: SessionLike, hooks: SecurityHooks): void {
  session.setPermissionRequestHandler((webContents, permission, callback, details) => {
    const granted = decidePermission({ permission, requestingUrl: details.requestingUrl ?? webContents.getURL() });
    if (!granted) hooks.onNotice({ kind: 'permission-denied', url: details.requestingUrl, detail: permission });
    callback(granted);
  });
  session.setPermissionCheckHandler((webContents, permission, _origin, details) =>
    decidePermission({ permission, requestingUrl: details.requestingUrl ?? webContents?.getURL() }),
  );
  session.setDevicePermissionHandler(() => false);
  // No spelling dictionaries fetched from the network.
  session.setSpellCheckerEnabled(false);

  session.webRequest.onBeforeRequest((details, callback) => {
    const decision = decideOutgoingRequest(details.url);
    if (!decision.allow) hooks.onNotice({ kind: 'request-blocked', url: details.url, detail: decision.reason });
    callback({ cancel: !decision.allow });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withSecurityHeaders(details.responseHeaders) });
  });
}

type WebContentsLike = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** Call from app 'web-contents-created' so it covers every webContents, not only our window's. */
export function installWebContentsSecurity(contents: WebContentsLike, hooks: SecurityHooks): void {
  const guardNavigation = (event: { url: string; preventDefault(): void }): void => {
    const decision = decideNavigation(event.url);
    if (!decision.allow) {
      event.preventDefault();
      hooks.onNotice({ kind: 'navigation-blocked', url: event.url, detail: decision.reason });
    }
  };
  contents.on('will-navigate', (event) => guardNavigation(event));
  contents.on('will-frame-navigate', (event) => guardNavigation(event));
  contents.on('will-redirect', (event) => guardNavigation(event));

  contents.on('will-attach-webview', (event, _webPreferences, params) => {
    event.preventDefault();
    hooks.onNotice({ kind: 'webview-blocked', url: params.src });
  });

  contents.setWindowOpenHandler(({ url }) => {
    const decision = decideWindowOpen(url);
    if (decision.openExternally !== null) {
      hooks.openExternal(decision.openExternally).catch((err: unknown) =>
        hooks.onNotice({ kind: 'window-open-blocked', url, detail: `openExternal failed: ${String(err)}` }),
      );
    } else {
      hooks.onNotice({ kind: 'window-open-blocked', url, detail: decision.reason });
    }
    return { action: 'deny' };
  });
}
