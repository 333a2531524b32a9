/**
 * The one command-line parser of `medfedpure`, for the product's commands (electron/node/cli/args.ts re-exports it)
 * and the research commands in native-models/src/lab alike. Built on Node's own `util.parseArgs` (strict: unknown
 * options, a value given to a boolean and a missing value are errors), with one table per command that both parses
 * and prints `--help`, so the two cannot disagree.
 *
 *   const SPEC = { data: { kind: 'string', value: 'DIR', help: 'a yes/no folder' }, json: 'boolean' } satisfies FlagSpec;
 *   const { flags, positional } = parseArgs(argv, SPEC);       // throws UsageError (exit 2) on bad input
 *   process.stdout.write(usage('medfedpure dataset split', SPEC));
 */
import { parseArgs as nodeParseArgs } from 'node:util';

/** A command-line mistake: the CLI prints it with a pointer to --help and exits with status 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** 'strings' is a repeatable option (`--set a=1 --set b=2`). */
export type FlagKind = 'string' | 'boolean' | 'strings';

export interface FlagDoc {
  kind: FlagKind;
  /** Placeholder shown in help, e.g. 'DIR'. */
  value?: string;
  help?: string;
}

export interface FlagSpec {
  [name: string]: FlagKind | FlagDoc;
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positional: string[];
}

const docOf = (f: FlagKind | FlagDoc): FlagDoc => (typeof f === 'string' ? { kind: f } : f);

export function parseArgs(argv: readonly string[], spec: FlagSpec): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(spec)) {
    const { kind } = docOf(f);
    options[name] = kind === 'strings' ? { type: 'string', multiple: true } : { type: kind };
  }
  try {
    const { values, positionals } = nodeParseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return { flags: { ...values } as Parsed['flags'], positional: positionals };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw err;
    throw new UsageError(usageMessage(err as Error, spec));
  }
}

/** util.parseArgs's messages are long and mention its own API; say the same thing in the CLI's words. */
function usageMessage(err: Error, spec: FlagSpec): string {
  const m = /'(-{1,2}[^' ]+)/.exec(err.message);
  const flag = m?.[1] ?? '';
  const name = flag.replace(/^-+/, '').split('=')[0];
  const code = (err as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${flag}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const kind = spec[name] ? docOf(spec[name]).kind : undefined;
    return kind === 'boolean' ? `--${name} takes no value` : `--${name} needs a value`;
  }
  return err.message;
}

export function intFlag(value: string | boolean | string[] | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

/** Help text from the same table the parser uses: the synopsis line, then one line per option. */
export function usage(command: string, spec: FlagSpec, synopsis = '', about = ''): string {
  const rows = Object.entries(spec).map(([name, f]) => {
    const d = docOf(f);
    const left = `--${name}${d.kind === 'boolean' ? '' : ` ${d.value ?? 'VALUE'}`}${d.kind === 'strings' ? ' (repeatable)' : ''}`;
    return [left, d.help ?? ''] as const;
  });
  const width = Math.max(0, ...rows.map(([l]) => l.length)) + 2;
  const lines = rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`.trimEnd());
  return [`Usage: ${command}${synopsis ? ` ${synopsis}` : ''} [options]`, ...(about ? ['', about] : []), '', 'Options:', ...lines].join('\n');
}
