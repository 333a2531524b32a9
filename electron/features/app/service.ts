/** The app feature's handlers: who (the caller) and where this workstation is (app.info). */
import type { FeatureHandlers } from '../../node/router/router.js';
import type { appApi, AppInfo } from './api.js';

export function appHandlers(info: AppInfo): FeatureHandlers<typeof appApi> {
  return {
    'app.info': (_req, ctx) => ({ ...info, user: ctx.principal ? { id: ctx.principal.userId, role: ctx.principal.role, displayName: ctx.principal.displayName } : null }),
  };
}
