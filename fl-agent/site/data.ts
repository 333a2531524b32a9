/**
 * Where the agent's training cases come from.
 *
 * Only labels a radiologist confirmed may train the federation's model: an AI label that nobody accepted is not
 * ground truth, and training on it would feed the model's own mistakes (or an attacker's) back into every site.
 * Two sources:
 *  - `ConfirmedCases`: the app's table of confirmed cases (implemented by the app's study store, once the clinical
 *    workflow records an accepted or corrected label). The agent re-checks every row and drops anything that is not
 *    an accepted / corrected radiologist label.
 *  - `folderSource`: a folder in the paper's layout, `yes/` (tumour) and `no/` (no tumour) image files, for sites
 *    whose curated data sits on disk (the folder itself is the confirmation). NEAR_DUPLICATES.tsv, when present,
 *    gives each file's near-duplicate group.
 *
 * Both become an ImageDataset (images letterboxed to the model's size, in [0, 1]) and a split of its groups into a
 * training part and a held-out evaluation part: deterministic by group (a group is never on both sides), about one
 * group in five held out, at least one group on each side when there are two or more.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage } from '../../native-models/src/inference/image/decode.js';
import { letterboxResize } from '../../native-models/src/inference/image/resize.js';
import { ImageDataset } from '../../native-models/src/core/train/dataset.js';
import { FlError } from '../protocol/errors.js';

/** One confirmed case as the app's table holds it. */
export interface ConfirmedCase {
  /** Stable id in the study store (e.g. SOP Instance UID + frame). */
  caseId: string;
  /** 0 = no tumour, 1 = tumour. */
  label: 0 | 1;
  /** How the label was confirmed: the radiologist accepted the AI's label, or corrected it. */
  confirmation: 'accepted' | 'corrected';
  /** Who confirmed (user id) and when (ISO 8601). */
  confirmedBy: string;
  confirmedAt: string;
  /** Patient / study key for grouping: cases of one patient never sit on both sides of the local split. */
  groupKey: string;
  /** The preprocessed grey image, side × side in [0, 1], as the intended-use pipeline produced it. */
  pixels: Float32Array;
  side: number;
}

/** What the app implements over its confirmed-cases table. */
export interface ConfirmedCases {
  /** Every currently confirmed case (the app excludes retracted confirmations). */
  list(): Promise<ConfirmedCase[]>;
}

export interface SiteData {
  dataset: ImageDataset;
  train: Int32Array;
  heldOut: Int32Array;
  /** What was left out and why (unconfirmed rows, bad images). */
  skipped: { id: string; reason: string }[];
  description: string;
}

/** Deterministic group split: a group is held out when sha256("fl-holdout:" + key) falls in the lowest fifth. */
export function splitByGroup(groupKeys: readonly string[], heldOutShare = 0.2): { train: Int32Array; heldOut: Int32Array } {
  const score = new Map<string, number>();
  for (const g of groupKeys) if (!score.has(g)) score.set(g, createHash('sha256').update(`fl-holdout:${g}`).digest().readUInt32BE(0) / 2 ** 32);
  const held = new Set([...score].filter(([, s]) => s < heldOutShare).map(([g]) => g));
  if (score.size >= 2) {
    const sorted = [...score].sort((a, b) => a[1] - b[1]);
    if (held.size === 0) held.add(sorted[0][0]);
    if (held.size === score.size) held.delete(sorted[sorted.length - 1][0]);
  }
  const train: number[] = [], heldOut: number[] = [];
  groupKeys.forEach((g, i) => (held.has(g) ? heldOut : train).push(i));
  return { train: Int32Array.from(train), heldOut: Int32Array.from(heldOut) };
}

function groupIds(keys: readonly string[]): Int32Array {
  const ids = new Map<string, number>();
  return Int32Array.from(keys, (k) => {
    let id = ids.get(k);
    if (id === undefined) ids.set(k, (id = ids.size));
    return id;
  });
}

/** The app's confirmed cases → site data; rows that are not radiologist-confirmed, or malformed, are skipped. */
export async function fromConfirmedCases(source: ConfirmedCases, size: number): Promise<SiteData> {
  const rows = await source.list();
  const ss = size * size;
  const keep: ConfirmedCase[] = [];
  const skipped: SiteData['skipped'] = [];
  for (const r of rows) {
    const why =
      r.confirmation !== 'accepted' && r.confirmation !== 'corrected' ? `not confirmed by a radiologist (${String(r.confirmation)})`
      : !r.confirmedBy ? 'no confirming user'
      : r.label !== 0 && r.label !== 1 ? `label ${String(r.label)}`
      : r.side !== size || !(r.pixels instanceof Float32Array) || r.pixels.length !== ss ? `image is not ${size}×${size}`
      : null;
    if (why) skipped.push({ id: String(r.caseId), reason: why });
    else keep.push(r);
  }
  const images = new Float32Array(keep.length * ss);
  keep.forEach((r, i) => images.set(r.pixels, i * ss));
  const keys = keep.map((r) => r.groupKey || r.caseId);
  const dataset = new ImageDataset('confirmed-cases', size, images, Int32Array.from(keep, (r) => r.label), groupIds(keys), keep.map((r) => r.caseId),
    { source: 'confirmed cases (study store)', groupSource: 'patient / study key', fingerprint: '' });
  return { dataset, ...splitByGroup(keys), skipped, description: `${keep.length} confirmed cases` };
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/** A yes/no folder → site data (decoded and letterboxed to `size`). Unreadable images are skipped and listed. */
export async function fromYesNoFolder(dir: string, size: number, opts: { maxFiles?: number } = {}): Promise<SiteData> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new FlError('FL_NO_DATA', `site data folder not found: ${dir}`);
  }
  const rels: string[] = [];
  for (const sub of ['no', 'yes']) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    for (const n of names.filter((x) => IMAGE_EXT.test(x) && !x.startsWith('.')).sort()) rels.push(`${sub}/${n}`);
  }
  if (opts.maxFiles !== undefined && rels.length > opts.maxFiles) throw new FlError('FL_BAD_ARGUMENT', `${dir} holds ${rels.length} images (cap ${opts.maxFiles})`);
  const table = new Map<string, string>();
  const tsv = await readFile(join(dir, 'NEAR_DUPLICATES.tsv'), 'utf8').catch(() => null);
  if (tsv) {
    const lines = tsv.split(/\r?\n/).filter((l) => l.trim());
    const head = (lines.shift() ?? '').split('\t');
    const pi = head.indexOf('path'), gi = head.indexOf('group');
    if (pi >= 0 && gi >= 0) for (const l of lines) { const c = l.split('\t'); table.set(c[pi], `g${c[gi]}`); }
  }
  const ss = size * size;
  const images = new Float32Array(rels.length * ss);
  const labels: number[] = [], keys: string[] = [], paths: string[] = [];
  const skipped: SiteData['skipped'] = [];
  for (const rel of rels) {
    try {
      const img = decodeImage(new Uint8Array(await readFile(join(dir, rel))), rel);
      letterboxResize(img, size, images.subarray(labels.length * ss, (labels.length + 1) * ss));
      labels.push(rel.startsWith('yes/') ? 1 : 0);
      keys.push(table.get(rel) ?? rel);
      paths.push(rel);
    } catch (e) {
      skipped.push({ id: rel, reason: (e as Error).message });
    }
  }
  if (labels.length === 0) throw new FlError('FL_NO_DATA', `${dir} has no readable images under yes/ or no/`);
  const dataset = new ImageDataset('site-folder', size, images.slice(0, labels.length * ss), Int32Array.from(labels), groupIds(keys), paths,
    { source: `yes/no folder ${dir}`, groupSource: tsv ? 'NEAR_DUPLICATES.tsv' : 'one group per file', fingerprint: '' });
  return { dataset, ...splitByGroup(keys), skipped, description: `${labels.length} images from ${dir}` };
}
