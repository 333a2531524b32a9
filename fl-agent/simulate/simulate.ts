/** Placeholder, replaced by the simulation. */
export async function simulateCommand(_argv: string[]): Promise<number> {
  process.stderr.write('medfedpure fl simulate: not built yet\n');
  return 2;
}
