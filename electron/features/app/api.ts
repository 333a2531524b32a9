/** The app feature's part of the contract: who and where (app.info). Runs anywhere. */
import { defineFeatureApi, method, returns } from '../../common/feature-api.js';
import { object } from '../../common/validate.js';

export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' when hosted by the Electron main process, 'browser' when by `medfedpure serve`. */
  host: 'electron' | 'browser';
  dataDir: string;
  user: { id: string; role: string };
  workstation: string;
}

export const appApi = defineFeatureApi({
  methods: {
    'app.info': method(object({}), returns<AppInfo>()),
  },
});
