/**
 * Finds the `ApiClient` for this page: Electron's preload bridge (`window.medfedpure`) when present, else the
 * HTTP client of `medfedpure serve`.
 *
 * Browser mode: the address printed by `medfedpure serve` ends in `?token=…`. Loading it makes the host set an
 * HttpOnly session cookie, so the token is only needed once: we pass it to the client for this page's life
 * and remove it from the address bar (history.replaceState), so it is not left in history or screenshots.
 * A reload then authenticates with the cookie alone.
 */
import type { ApiClient, ApiEvents, ApiMethods } from '../../electron/features/api.js';
import { createHttpClient } from '../../electron/common/http-client.js';

export function connect(): ApiClient {
  if (window.medfedpure) return window.medfedpure;
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token') ?? undefined;
  if (token) {
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
  }
  return createHttpClient<ApiMethods, ApiEvents>(window.location.origin, token);
}

declare global {
  interface Window {
    /** Present only when hosted by Electron (see electron/preload/preload.ts). */
    readonly medfedpure?: ApiClient;
  }
}
