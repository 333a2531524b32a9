/**
 * The command-line platform: a command table and the one dispatcher. Features contribute commands
 * (electron/features/<name>/cli.ts); electron/features/cli.ts composes them; bin/medfedpure.js adds the research
 * commands of native-models/src/lab when they are present. Help is generated from the table.
 */
import { UsageError } from './args.js';

export interface CliCommand {
  /** The first word on the command line, e.g. 'import'. */
  name: string;
  /** Usage lines for the overview (`medfedpure --help`); the first starts with the command name. */
  usage: string[];
  /** Runs with the arguments after the name; resolves to the exit status (0 ok, 1 failed, 2 usage). */
  run(argv: string[]): Promise<number>;
  /**
   * For commands that share a name (e.g. a product's `calibrate site` beside the research `calibrate --data`): the
   * first command of that name whose `accepts` returns true, or that has none, runs.
   */
  accepts?(argv: readonly string[]): boolean;
}

export function helpText(commands: readonly CliCommand[]): string {
  const lines = commands.flatMap((c) => c.usage.map((u) => `  ${u}`));
  return `Usage: medfedpure <command> [options]

Commands:
${lines.join('\n')}

Every command takes --json (machine-readable output) and --help.
Data directory: --data-dir, else $MEDFEDPURE_DATA_DIR, else the per-user data directory.`;
}

/** Runs one command line against a table; reports usage errors with exit 2 and failures with exit 1. */
export async function runCli(commands: readonly CliCommand[], argv: readonly string[], version: string): Promise<number> {
  const [name, ...rest] = argv;
  try {
    switch (name) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${helpText(commands)}\n`);
        return name === undefined ? 2 : 0;
      case '--version':
      case 'version':
        process.stdout.write(`${version}\n`);
        return 0;
    }
    const command = commands.find((c) => c.name === name && (c.accepts?.(rest) ?? true));
    if (!command) throw new UsageError(`unknown command "${name}"`);
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      const known = commands.some((c) => c.name === name);
      process.stderr.write(`medfedpure: ${err.message}\nRun "medfedpure ${known ? `${name} ` : ''}--help" for usage.\n`);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`medfedpure: ${err instanceof Error ? err.message : String(err)}${typeof code === 'string' ? ` (${code})` : ''}\n`);
    return 1;
  }
}
