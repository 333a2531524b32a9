/**
 * Navigation and window-open policy, as pure decisions the Electron glue (security/install.ts) applies.
 *
 *  - Navigation (will-navigate, will-frame-navigate, will-redirect): allowed only within the app origin.
 *  - window.open / target=_blank: never opens an Electron window. An https link to a host on the
 *    allow-list is handed to the OS browser; everything else is dropped.
 *  - <webview>: never attached (see install.ts).
 */
import { isAppUrl, parseUrl } from '../app-origin.js';

/**
 * Hosts whose https links may be opened in the OS browser (exact host match, no subdomains).
 * Kept tiny on purpose: the paper and its DOI resolver.
 */
export const EXTERNAL_LINK_HOSTS: readonly string[] = ['arxiv.org', 'doi.org'];

export type NavigationDecision = { allow: true } | { allow: false; reason: string };

export function decideNavigation(url: unknown): NavigationDecision {
  if (isAppUrl(url)) return { allow: true };
  const u = parseUrl(url);
  return { allow: false, reason: u === null ? 'unparseable URL' : `navigation to ${u.protocol}//${u.host} is not allowed` };
}

export type WindowOpenDecision =
  | { action: 'deny'; openExternally: null; reason: string }
  | { action: 'deny'; openExternally: string; reason: string };

/** Never allows a new Electron window; may ask the glue to open an allow-listed https URL externally. */
export function decideWindowOpen(url: unknown, allowedHosts: readonly string[] = EXTERNAL_LINK_HOSTS): WindowOpenDecision {
  const u = parseUrl(url);
  if (u === null) return { action: 'deny', openExternally: null, reason: 'unparseable URL' };
  const hostAllowed =
    u.protocol === 'https:' && u.username === '' && u.password === '' && u.port === '' && allowedHosts.includes(u.hostname);
  if (hostAllowed) return { action: 'deny', openExternally: u.href, reason: 'opened in the system browser' };
  return { action: 'deny', openExternally: null, reason: `window.open of ${u.protocol}//${u.host} is not allowed` };
}
