/** The app feature's handlers: who and where this workstation is (app.info). */
import type { FeatureHandlers } from '../../node/router/router.js';
import type { appApi, AppInfo } from './api.js';

export function appHandlers(info: AppInfo): FeatureHandlers<typeof appApi> {
  return { 'app.info': () => info };
}
