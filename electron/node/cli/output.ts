/** CLI output helpers: one JSON document per command with --json, readable lines otherwise; errors to stderr. */
export interface Out {
  json: boolean;
  /** Machine-readable result (printed as one line of JSON with --json). */
  result(value: unknown, human: () => string): void;
  info(line: string): void;
  error(line: string): void;
}

export function makeOut(json: boolean): Out {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
    },
    info(line) {
      // With --json, stdout carries only the result; progress goes to stderr.
      (json ? process.stderr : process.stdout).write(`${line}\n`);
    },
    error(line) {
      process.stderr.write(json ? `${JSON.stringify({ error: line })}\n` : `medfedpure: ${line}\n`);
    },
  };
}
