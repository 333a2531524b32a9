/** CLI plumbing: flag parsing, default data directory, and the command table. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intFlag, parseArgs, UsageError } from '../../../electron/node/cli/args.js';
import { helpText, runCli, type CliCommand } from '../../../electron/node/cli/commands.js';
import { PRODUCT_COMMANDS } from '../../../electron/features/cli.js';
import { defaultDataDir } from '../../../electron/node/services/paths.js';

describe('CLI plumbing', () => {
  it('parses flags and positionals, refusing unknown or valueless flags', () => {
    const spec = { port: 'string', json: 'boolean' } as const;
    assert.deepEqual(parseArgs(['a', '--port', '8', '--json', 'b'], spec), { flags: { port: '8', json: true }, positional: ['a', 'b'] });
    assert.deepEqual(parseArgs(['--port=9', '--', '--json'], spec), { flags: { port: '9' }, positional: ['--json'] });
    assert.throws(() => parseArgs(['--nope'], spec), UsageError);
    assert.throws(() => parseArgs(['--port'], spec), UsageError);
    assert.throws(() => parseArgs(['--json=1'], spec), UsageError);
    assert.equal(intFlag('80', 'port', 0, 65535), 80);
    assert.throws(() => intFlag('-1', 'port', 0, 65535), UsageError);
    assert.throws(() => intFlag('70000', 'port', 0, 65535), UsageError);
  });

  it('picks the data directory from the environment, else the platform convention', () => {
    assert.equal(defaultDataDir({ MEDFEDPURE_DATA_DIR: '/srv/mfp' }, 'linux'), '/srv/mfp');
    assert.equal(defaultDataDir({ XDG_DATA_HOME: '/x' }, 'linux'), '/x/medfedpure');
    assert.match(defaultDataDir({}, 'linux'), /\.local\/share\/medfedpure$/);
    assert.match(defaultDataDir({}, 'darwin'), /Library\/Application Support\/MedFedPure$/);
  });

  it('dispatches through one command table: help lists every command, unknown names are usage errors (exit 2)', async () => {
    const ran: string[][] = [];
    const table: CliCommand[] = [{ name: 'echo', usage: ['echo ARGS   prints nothing'], run: async (argv) => (ran.push(argv), 0) }];
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      assert.equal(await runCli(table, ['echo', 'a', '--b'], '1.0'), 0);
      assert.equal(await runCli(table, ['ghost'], '1.0'), 2);
    } finally {
      process.stderr.write = original;
    }
    assert.deepEqual(ran, [['a', '--b']]);
    assert.match(writes.join(''), /unknown command "ghost"/);
    const help = helpText(PRODUCT_COMMANDS);
    for (const name of ['serve', 'import', 'audit', 'scan']) assert.match(help, new RegExp(`^  ${name} `, 'm'));
  });

  it('commands sharing a name: the first that accepts the arguments runs (calibrate site beside calibrate --data)', async () => {
    const ran: string[] = [];
    const table: CliCommand[] = [
      { name: 'calibrate', usage: ['calibrate site'], accepts: (argv) => argv[0] === 'site', run: async () => (ran.push('site'), 0) },
      { name: 'calibrate', usage: ['calibrate --data DIR'], run: async () => (ran.push('lab'), 0) },
    ];
    assert.equal(await runCli(table, ['calibrate', 'site', '--study', '1.2'], '1.0'), 0);
    assert.equal(await runCli(table, ['calibrate', '--data', 'x'], '1.0'), 0);
    assert.deepEqual(ran, ['site', 'lab']);
    // The product's calibrate site refuses bad arguments before any model loads (exit 2).
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      assert.equal(await runCli(PRODUCT_COMMANDS, ['calibrate', 'site', '--study'], '1.0'), 2);
      assert.equal(await runCli(PRODUCT_COMMANDS, ['calibrate', 'site', '--series', 'a', '--study'], '1.0'), 2);
      assert.equal(await runCli(PRODUCT_COMMANDS, ['calibrate', 'site', '--series', '1.2;rm'], '1.0'), 2);
      assert.equal(await runCli(PRODUCT_COMMANDS, ['calibrate', 'site', '--series', '1.2', '--fpr', '0.7'], '1.0'), 2);
    } finally {
      process.stderr.write = original;
    }
    assert.match(writes.join(''), /--study needs at least one UID[\s\S]*exactly one of --series[\s\S]*not a DICOM UID[\s\S]*--fpr must be/);
  });
});
