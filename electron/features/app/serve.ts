/**
 * `medfedpure serve`: the browser host. Opens the services on the data directory (auditing Application Start),
 * imports the demo data on first run, starts the HTTP host on loopback and prints its URL — with --json as the
 * first stdout line `{"url":"http://127.0.0.1:PORT/?token=…"}`. Runs until SIGINT/SIGTERM, then stops the host,
 * audits Application Stop and closes the databases.
 */
import { importDemoDataOnFirstRun } from './demo.js';
import { startHttpHost } from '../../node/http/host.js';
import { defaultDataDir, rendererDir } from '../../node/services/paths.js';
import { createRouter, createServices } from '../node.js';
import { API_BODY_LIMITS } from '../api.js';
import { workerEngineProvider } from '../scan/service.js';
import { workerFlLauncher } from '../fl/service.js';
import { intFlag, parseArgs, UsageError } from '../../node/cli/args.js';
import { makeOut } from '../../node/cli/output.js';
import type { CliCommand } from '../../node/cli/commands.js';

export const SERVE_HELP = `Usage: medfedpure serve [--port N] [--host 127.0.0.1|::1] [--data-dir D] [--no-demo] [--json]

Starts the browser host on loopback and prints the URL to open (it carries the access token).
  --port N       TCP port (default 0: any free port)
  --host H       loopback address to bind (default 127.0.0.1)
  --data-dir D   data directory (default $MEDFEDPURE_DATA_DIR or the per-user data directory)
  --no-demo      do not import the demo series into an empty data directory
  --json         print {"url": ...} as the first stdout line`;

export async function serveCommand(argv: readonly string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { port: 'string', host: 'string', 'data-dir': 'string', 'no-demo': 'boolean', json: 'boolean', help: 'boolean' });
  if (flags.help) {
    process.stdout.write(`${SERVE_HELP}\n`);
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
  const port = intFlag(flags.port, 'port', 0, 65535) ?? 0;
  const bindHost = (flags.host as string | undefined) ?? '127.0.0.1';
  if (bindHost !== '127.0.0.1' && bindHost !== '::1') throw new UsageError('--host must be a loopback address (127.0.0.1 or ::1): the host serves patient data');
  const out = makeOut(flags.json === true);
  const dataDir = (flags['data-dir'] as string | undefined) ?? defaultDataDir();

  // The inference engine runs in a worker_thread, started on the first scan (scan.* methods).
  const engine = workerEngineProvider();
  // The FL agent runs in a worker_thread too, while the site's FL settings name a SuperLink (fl.* methods).
  const services = createServices({ dataDir, host: 'browser', engine, flAgent: workerFlLauncher() });
  let closed = false;
  const shutdown = async (reason: string, host?: { close(): Promise<void> }): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await host?.close();
      await services.fl.close();
    } finally {
      services.close(reason);
      await engine.close().catch(() => undefined);
    }
  };

  let host;
  try {
    if (!flags['no-demo']) {
      const demo = await importDemoDataOnFirstRun(services);
      if (demo) out.info(`Imported demo data: ${demo.imported} instance(s) in ${demo.studies.length} study(ies)${demo.errors.length ? `, ${demo.errors.length} error(s)` : ''}`);
    }
    void services.fl.start();
    host = await startHttpHost({ router: createRouter(services), port, bindHost, staticDir: rendererDir(), bodyLimits: API_BODY_LIMITS });
  } catch (err) {
    await shutdown('startup failed');
    throw err;
  }
  const started = host;

  out.result({ url: started.url }, () => `MedFedPure browser host\n  open: ${started.url}\n  data: ${services.info.dataDir}\nPress Ctrl+C to stop.`);

  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      shutdown(signal, started).then(
        () => resolve(0),
        (err: unknown) => {
          out.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  });
}

export const appCommands: CliCommand[] = [
  {
    name: 'serve',
    usage: [
      'serve [--port N] [--data-dir D]        start the browser host and print its URL',
    ],
    run: (argv) => serveCommand(argv),
  },
];
