/**
 * `medfedpure fl …`: the FL agent headless (join a federation and print a line per round, print the node key for
 * registration, export the shared layers for the coordinating site, the research simulation). The commands live in
 * fl-agent/cli.ts; this only puts them into the product's command table.
 */
import type { CliCommand } from '../../node/cli/commands.js';

export const flCommands: CliCommand[] = [
  {
    name: 'fl',
    usage: [
      'fl join --superlink HOST:PORT --data DIR [--root-ca FILE]   join a Flower federation headless, a line per round',
      'fl node-key | export-shared --out DIR | simulate …          node key for registration; shared layers; simulation',
    ],
    run: async (argv) => {
      const { flCommand } = await import('../../../fl-agent/cli.js');
      return flCommand(argv);
    },
  },
];
