/**
 * The public surface of the Node services for the Electron main process (and anything else that hosts them).
 * Nothing here imports electron.
 *
 *   const services = createServices({ dataDir, host: 'electron', user });   // audits Application Start
 *   await importDemoDataOnFirstRun(services);                               // optional
 *   const router = createRouter(services);                                  // router.dispatch(method, request)
 *   router.events.onAny((event, payload) => webContents.send(...));         // ApiEvents for the UI
 *   services.close('quit');                                                 // audits Application Stop
 */
export { createServices, type Services, type ServicesOptions } from './services/services.js';
export { createRouter, type Router } from './router/router.js';
export { importDemoDataOnFirstRun } from './services/demo.js';
export { defaultDataDir, rendererDir, DEMO_DATA_DIR } from './services/paths.js';
export { startHttpHost, type HttpHost, type HttpHostOptions } from './http/host.js';
export { EventBus } from './services/event-bus.js';
export { EVENT_ID, EVENT_TYPE } from './audit/codes.js';
export { securityAlert } from './audit/events.js';
