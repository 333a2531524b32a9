/** The app feature's part of the contract: who and where (app.info). Runs anywhere. */
import { defineFeatureApi, method, returns } from '../../common/feature-api.js';
import { object } from '../../common/validate.js';

export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' when hosted by the Electron main process, 'browser' when by `medfedpure serve`. */
  host: 'electron' | 'browser';
  dataDir: string;
  /** The signed-in user making this call (null when called without a session). */
  user: { id: string; role: string; displayName: string } | null;
  workstation: string;
}

export const appApi = defineFeatureApi({
  methods: {
    /** Public: the sign-in screen shows what it signs in to. */
    'app.info': method(object({}), returns<AppInfo>(), { public: true }),
  },
});
