/**
 * Entry of the inference engine as an Electron utilityProcess (spawned by electron/main/engine/engine-host.ts):
 * accepts the parent's port, answers `ready` at once, and loads the models in the background (engine.status says
 * when they are ready). Options come from the environment:
 *   MEDFEDPURE_MODELS_DIR, MEDFEDPURE_ENGINE_EP (cpu|cuda|dml|coreml|webgpu|auto), MEDFEDPURE_ENGINE_THREADS,
 *   MEDFEDPURE_DEV_MODELS=seeded (development only: seeded untrained models when the models folder has no manifest).
 */
import { serveOnParentPort } from '../../core/port-rpc.js';
import { EngineCore, engineHandlers, type EngineOptions } from './core.js';
import type { EngineMethods } from './protocol.js';

export function engineOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EngineOptions {
  const threads = env.MEDFEDPURE_ENGINE_THREADS ? Number(env.MEDFEDPURE_ENGINE_THREADS) : undefined;
  return {
    modelsDir: env.MEDFEDPURE_MODELS_DIR || undefined,
    ep: (env.MEDFEDPURE_ENGINE_EP as EngineOptions['ep']) || 'auto',
    threads: threads !== undefined && Number.isInteger(threads) && threads > 0 ? threads : undefined,
    allowSeeded: env.MEDFEDPURE_DEV_MODELS === 'seeded',
  };
}

type ParentPort = Parameters<typeof serveOnParentPort>[0];
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (parentPort) {
  const core = EngineCore.create(engineOptionsFromEnv());
  core.catch((e: unknown) => console.error('medfedpure engine: could not load models:', e));
  serveOnParentPort<EngineMethods>(parentPort, engineHandlers(core)).catch((e: unknown) => {
    console.error('medfedpure engine:', e);
    process.exit(1);
  });
}
