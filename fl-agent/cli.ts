/**
 * `medfedpure fl …`: the FL agent from the command line (the lead wires `flCommand` into bin/medfedpure).
 *
 *   fl join --superlink HOST:PORT --data DIR [--root-ca FILE | --insecure] [--state-dir DIR] [--policy FILE]
 *           [--threads N] [--max-round-seconds S] [--noise Z] [--clipping-norm C] [--max-messages N] [--json]
 *       joins the federation headless and prints one line per round (JSON lines with --json). Naming the SuperLink
 *       on the command line is the site's consent to that address; --policy FILE (JSON, SitePolicy fields) adds the
 *       rest of the site policy (run ids, schedule, …). Audit events go to <state-dir>/fl-audit.jsonl. Ctrl+C leaves
 *       cleanly (stays online a few seconds after the last reply, then deactivates).
 *   fl node-key [--state-dir DIR]
 *       prints the node's public key in OpenSSH format, for `flwr supernode register` when the federation's SuperLink
 *       only admits registered nodes (--enable-supernode-auth); creates the key on first use
 *   fl export-shared --out DIR [--weights FILE.mfpw] [--seed N]
 *       writes the shared layers (FedPer + FedBN selection) as manifest.json + one float32 .npy per layer, the
 *       layout fl-agent/server/medfedpure_server/shared_arrays.py reads as the federation's initial arrays
 *   fl simulate …   research tooling: in-process federation on Br35H (fl-agent/simulate/, loaded on demand)
 *
 * Exit status: 0 after a clean stop, 1 when refused or failed, 2 on a usage error.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { FlAgent, type RoundEntry } from './agent.js';
import { ClassifierClientApp } from './client-app.js';
import { checkPolicy, DEFAULT_POLICY, type SitePolicy } from './site/policy.js';
import { fromYesNoFolder } from './site/data.js';
import { DEFAULT_LOCAL_TRAINING } from './train/local-trainer.js';
import type { AuditEvent, AuditSink } from './site/audit.js';
import { intFlag, parseArgs, usage, UsageError, type FlagSpec } from '../native-models/src/core/cli-args.js';
import * as classifier from '../native-models/src/inference/nets/classifier.js';
import { loadWeights } from '../native-models/src/core/weights-io.js';
import { encodeNpyF32 } from './protocol/npy.js';
import { loadOrCreateNodeKey, openSshPublicKey } from './protocol/auth.js';
import { sharedNames, weightsSha256 } from './model/shared-layers.js';

const JOIN_SPEC = {
  superlink: { kind: 'string', value: 'HOST:PORT', help: "the federation's SuperLink (Fleet API, Flower's default port 9092)" },
  data: { kind: 'string', value: 'DIR', help: 'training cases: a folder with yes/ and no/ images' },
  'root-ca': { kind: 'string', value: 'FILE', help: 'PEM root certificate the SuperLink\'s TLS certificate must chain to' },
  insecure: { kind: 'boolean', help: 'plain-text gRPC, for local trials only' },
  'state-dir': { kind: 'string', value: 'DIR', help: 'node key, local model, privacy ledger, fl-audit.jsonl (default <data dir>/fl)' },
  'data-dir': { kind: 'string', value: 'DIR', help: 'the app data directory (default $MEDFEDPURE_DATA_DIR, else per user)' },
  policy: { kind: 'string', value: 'FILE', help: 'site policy JSON (run ids, schedule, caps, privacy)' },
  threads: { kind: 'string', value: 'N', help: 'onnxruntime threads for local training (default 2)' },
  'max-round-seconds': { kind: 'string', value: 'S', help: 'local-training time budget per round (default 600)' },
  noise: { kind: 'string', value: 'Z', help: 'local Gaussian noise multiplier (default 0: none)' },
  'clipping-norm': { kind: 'string', value: 'C', help: 'clipping norm when the server sends none (needed for --noise)' },
  'max-messages': { kind: 'string', value: 'N', help: 'leave after N handled messages (scripted trials)' },
  json: { kind: 'boolean', help: 'one JSON object per line' },
  help: 'boolean',
} satisfies FlagSpec;

const NODE_KEY_SPEC = {
  'state-dir': { kind: 'string', value: 'DIR', help: 'where node.key lives (default <data dir>/fl)' },
  'data-dir': { kind: 'string', value: 'DIR', help: 'the app data directory' },
  help: 'boolean',
} satisfies FlagSpec;

const EXPORT_SPEC = {
  out: { kind: 'string', value: 'DIR', help: 'output folder (manifest.json + one .npy per shared layer)' },
  weights: { kind: 'string', value: 'FILE', help: 'a .mfpw weights file (default: the seeded initial classifier)' },
  seed: { kind: 'string', value: 'N', help: 'seed of the initial classifier (default 0)' },
  json: 'boolean',
  help: 'boolean',
} satisfies FlagSpec;

const HELP = `Usage: medfedpure fl <command> [options]

Commands:
  join --superlink HOST:PORT --data DIR   join the federation (Flower Fleet API) and train; one line per round
  node-key                                print this workstation's public key (OpenSSH) for \`flwr supernode register\`
  export-shared --out DIR                 the shared layers as .npy files: the ServerApp's initial arrays
  simulate --sites 10 --dirichlet 0.4 --rounds R
                                          in-process federation on Br35H split by near-duplicate group

\`medfedpure fl <command> --help\` lists a command's options.`;

const JOIN_USAGE = usage('medfedpure fl join', JOIN_SPEC, '--superlink HOST:PORT --data DIR',
  'Joins the federation headless. Naming the SuperLink here is the site\'s consent to that address; --policy adds the rest of the site policy. Ctrl+C leaves cleanly.');
const NODE_KEY_USAGE = usage('medfedpure fl node-key', NODE_KEY_SPEC, '', 'Prints the node\'s P-384 public key in OpenSSH format (creates the key on first use).');
const EXPORT_USAGE = usage('medfedpure fl export-shared', EXPORT_SPEC, '--out DIR', 'Writes the shared layers (FedPer + FedBN selection) in the layout the ServerApp reads.');

/** The app's per-user data directory (mirrors electron/node/services/paths.ts so this module imports nothing of the app). */
function defaultDataDir(env = process.env): string {
  if (env.MEDFEDPURE_DATA_DIR) return resolve(env.MEDFEDPURE_DATA_DIR);
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? env.APPDATA ?? join(homedir(), 'AppData', 'Local'), 'MedFedPure');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'MedFedPure');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'medfedpure');
}

const fmt = (x: number | null, d = 3) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));

export function roundLine(r: RoundEntry): string {
  return `round ${r.round || '?'} ${r.kind.padEnd(8)} run ${r.runId}  loss ${fmt(r.loss)}  acc ${fmt(r.accuracy)}  n=${r.examples}  ${r.durationS.toFixed(1)} s` +
    `  ε=${fmt(r.epsilon, 2)}  ${r.outcome}${r.error ? `  (${r.error})` : ''}`;
}

function num(v: string | boolean | string[] | undefined, name: string, lo: number, hi: number, int = false): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} needs a value`);
  if (int) return intFlag(v, name, lo, hi);
  const x = Number(v);
  if (!Number.isFinite(x) || x < lo || x > hi || (int && !Number.isInteger(x))) throw new UsageError(`--${name} must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
  return x;
}

async function join_(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, JOIN_SPEC);
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  const values = flags as { [K in keyof typeof JOIN_SPEC]?: K extends 'insecure' | 'json' | 'help' ? boolean : string };
  if (values.help) {
    process.stdout.write(`${JOIN_USAGE}\n`);
    return 0;
  }
  const superlink = values.superlink;
  if (!superlink || !/^[^\s]+:\d{1,5}$/.test(superlink)) throw new UsageError('--superlink HOST:PORT is required');
  if (!values.data) throw new UsageError('--data DIR is required (a folder with yes/ and no/ images)');
  if (values.insecure && values['root-ca']) throw new UsageError('--insecure and --root-ca exclude each other');
  const threads = num(values.threads, 'threads', 1, 256, true);
  const maxRoundSeconds = num(values['max-round-seconds'], 'max-round-seconds', 1, 86_400);
  const noise = num(values.noise, 'noise', 0, 1000);
  const clip = num(values['clipping-norm'], 'clipping-norm', 1e-9, 1e9);
  const maxMessages = num(values['max-messages'], 'max-messages', 1, 1e9, true);
  const stateDir = resolve(values['state-dir'] ?? join(values['data-dir'] ?? defaultDataDir(), 'fl'));
  await mkdir(stateDir, { recursive: true, mode: 0o700 });

  let policy: SitePolicy = { ...DEFAULT_POLICY, allowedSuperlinks: [superlink] };
  if (values.policy) {
    const text = await readFile(values.policy, 'utf8').catch(() => { throw new UsageError(`cannot read --policy ${values.policy}`); });
    let extra: Partial<SitePolicy>;
    try {
      extra = JSON.parse(text) as Partial<SitePolicy>;
    } catch {
      throw new UsageError(`--policy ${values.policy} is not JSON`);
    }
    policy = { ...policy, ...extra, privacy: { ...policy.privacy, ...extra.privacy } };
    if (!policy.allowedSuperlinks.includes(superlink)) throw new UsageError(`${superlink} is not in the policy's allowedSuperlinks`);
  }
  if (threads !== undefined) policy.maxThreads = threads;
  if (maxRoundSeconds !== undefined) policy.maxRoundSeconds = maxRoundSeconds;
  if (noise !== undefined) policy.privacy = { ...policy.privacy, noiseMultiplier: noise };
  if (clip !== undefined) policy.privacy = { ...policy.privacy, defaultClippingNorm: clip };
  try {
    checkPolicy(policy);
  } catch (e) {
    throw new UsageError(`site policy: ${(e as Error).message}`);
  }
  const rootCa = values['root-ca'] ? new Uint8Array(await readFile(values['root-ca']).catch(() => { throw new UsageError(`cannot read --root-ca ${values['root-ca']}`); })) : undefined;

  const out = (line: string, obj: unknown) => process.stdout.write(`${values.json ? JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) : line}\n`);
  const auditFile = join(stateDir, 'fl-audit.jsonl');
  const audit: AuditSink = { append: (e: AuditEvent) => appendFile(auditFile, `${JSON.stringify(e)}\n`, { mode: 0o600 }) };
  const training = { ...DEFAULT_LOCAL_TRAINING, threads: policy.maxThreads };
  const app = new ClassifierClientApp({ stateDir, training, data: () => fromYesNoFolder(resolve(values.data!), training.net.size) });
  const agent = new FlAgent({ superlink, rootCa, insecure: values.insecure === true, stateDir, policy, audit, app });
  let handled = 0;
  agent.on('status', (s) => {
    if (s.state === 'connected' || s.state === 'reconnecting' || s.state === 'refused' || s.state === 'paused') {
      out(`${s.state}${s.nodeId ? ` as node ${s.nodeId}` : ''}${s.lastError && s.state !== 'connected' ? `: ${s.lastError.message}` : ''}`, { event: 'status', ...s });
    }
  });
  agent.on('round', (r: RoundEntry) => {
    out(roundLine(r), { event: 'round', ...r });
    if (maxMessages !== undefined && ++handled >= maxMessages) void agent.stop();
  });
  const onSignal = () => void agent.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  out(`joining ${superlink} (state ${stateDir})`, { event: 'start', superlink, stateDir });
  try {
    await agent.start();
  } catch (e) {
    process.stderr.write(`medfedpure fl join: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await app.close();
  }
  const s = agent.getStatus();
  out(`${s.state}: ${s.roundsDone} round(s) done`, { event: 'end', ...s });
  return s.state === 'refused' ? 1 : 0;
}

async function exportShared(argv: string[]): Promise<number> {
  const values = parseArgs(argv, EXPORT_SPEC).flags as { out?: string; weights?: string; seed?: string; json?: boolean; help?: boolean };
  if (values.help) {
    process.stdout.write(`${EXPORT_USAGE}\n`);
    return 0;
  }
  if (!values.out) throw new UsageError('--out DIR is required');
  const seed = num(values.seed, 'seed', 0, 2 ** 31, true) ?? 0;
  const net = DEFAULT_LOCAL_TRAINING.net;
  const weights = values.weights ? (await loadWeights(values.weights)).weights : classifier.init(net, seed);
  const names = sharedNames(weights);
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  const files: string[] = [];
  for (const [i, name] of names.entries()) {
    const t = weights.get(name)!;
    const file = `${String(i).padStart(4, '0')}.npy`;
    await writeFile(join(out, file), encodeNpyF32(t.shape, t.data));
    files.push(file);
  }
  const manifest = { format: 'medfedpure-shared-arrays', version: 1, names, files, net, source: values.weights ?? `classifier.init(seed ${seed})`, sha256: weightsSha256(weights, names) };
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
  process.stdout.write(values.json ? `${JSON.stringify({ out, layers: names.length, sha256: manifest.sha256 })}\n` : `${names.length} shared layers written to ${out}\n`);
  return 0;
}

async function nodeKey(argv: string[]): Promise<number> {
  const values = parseArgs(argv, NODE_KEY_SPEC).flags as { 'state-dir'?: string; 'data-dir'?: string; help?: boolean };
  if (values.help) {
    process.stdout.write(`${NODE_KEY_USAGE}\n`);
    return 0;
  }
  const stateDir = resolve(values['state-dir'] ?? join(values['data-dir'] ?? defaultDataDir(), 'fl'));
  const key = await loadOrCreateNodeKey(join(stateDir, 'node.key'));
  process.stdout.write(`${openSshPublicKey(key)}\n`);
  return 0;
}

export async function flCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'node-key') return await nodeKey(rest);
    if (sub === 'join') return await join_(rest);
    if (sub === 'export-shared') return await exportShared(rest);
    if (sub === 'simulate') {
      const { simulateCommand } = await import('./simulate/simulate.js');
      return await simulateCommand(rest);
    }
    if (sub === undefined || sub === '--help' || sub === 'help') {
      process.stdout.write(`${HELP}\n`);
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown fl command "${sub}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`medfedpure fl${sub ? ` ${sub}` : ''}: ${(e as Error).message} (see --help)\n`);
      return 2;
    }
    throw e;
  }
}
