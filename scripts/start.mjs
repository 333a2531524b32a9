#!/usr/bin/env node
// `npm start`: launches the Electron app; where Electron's binary is absent, says so and starts browser mode
// (`medfedpure serve`) instead, passing its output through so the URL is printed.
//
// Finding the binary: we do NOT `require('electron')` — when the binary is missing, the electron package's
// index.js tries to download it, which is exactly what must not happen here. Instead this mirrors its lookup:
// node_modules/electron/path.txt names the executable inside node_modules/electron/dist/ (or inside
// $ELECTRON_OVERRIDE_DIST_PATH), and the file must exist.
//
// Extra arguments (`npm start -- --foo`) go to Electron or to `medfedpure serve`.
// MEDFEDPURE_START_SKIP_BUILD=1 skips the build step (tests and repeated starts).
import { existsSync, readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const skipBuild = process.env.MEDFEDPURE_START_SKIP_BUILD === '1';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** @returns {{ found: true, path: string } | { found: false, why: string }} */
function findElectronBinary() {
  let pkgDir;
  try {
    pkgDir = path.dirname(createRequire(path.join(root, 'package.json')).resolve('electron/package.json'));
  } catch {
    return { found: false, why: 'the electron package is not installed' };
  }
  const pathFile = path.join(pkgDir, 'path.txt');
  const executable = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const p = path.join(override, executable || 'electron');
    return existsSync(p) ? { found: true, path: p } : { found: false, why: `ELECTRON_OVERRIDE_DIST_PATH has no ${p}` };
  }
  if (!executable) return { found: false, why: `${path.relative(root, pathFile)} is missing, so the binary was never downloaded` };
  const p = path.join(pkgDir, 'dist', executable);
  return existsSync(p) ? { found: true, path: p } : { found: false, why: `${path.relative(root, p)} is missing` };
}

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error(`start: \`${cmd} ${cmdArgs.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

/** Runs a long-lived child with inherited stdio, forwards Ctrl-C/termination, exits with its code. */
function handOver(cmd, cmdArgs) {
  const child = spawn(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    console.error(`start: could not run ${cmd}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const electron = findElectronBinary();
if (electron.found) {
  if (!skipBuild) run(npm, ['run', 'build']);
  // Electron reads package.json "main" (dist/electron/main/main.js) from the app folder.
  handOver(electron.path, [root, ...args]);
} else {
  console.error(
    [
      `Electron's binary is not installed on this machine: ${electron.why}.`,
      '  To install it: `node node_modules/electron/install.js` (downloads Electron; needs network access),',
      '  or set ELECTRON_OVERRIDE_DIST_PATH to a folder holding an Electron build.',
      'Starting browser mode instead (`medfedpure serve`); open the URL it prints.',
    ].join('\n'),
  );
  if (!skipBuild) run(npm, ['run', 'build:renderer']);
  handOver(process.execPath, [path.join(root, 'bin', 'medfedpure.js'), 'serve', ...args]);
}
