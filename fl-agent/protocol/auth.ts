/**
 * Node identity and per-call authentication for the Fleet API.
 *
 * The node has one P-384 (secp384r1) key pair. Every Fleet call carries three metadata entries:
 *   flwr-public-key-bin  the public key, PEM / SubjectPublicKeyInfo bytes
 *   flwr-timestamp       now, ISO 8601 UTC as Python's datetime.isoformat() writes it (…T09:20:00.123000+00:00)
 *   flwr-signature-bin   ECDSA-SHA256 over the timestamp's ASCII bytes, DER-encoded
 * The SuperLink checks the signature and that the timestamp is recent (Flower: within 300 s + 5 s clock drift), and
 * maps the public key to the node id. The same scheme is used whether or not the SuperLink restricts which keys may
 * join (node authentication), so the key must survive restarts: it is stored as PKCS#8 PEM in a file only its owner
 * can read (0600, in a 0700 folder). A key file that others can read is refused, not silently used.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FlError } from './errors.js';

export const PUBLIC_KEY_HEADER = 'flwr-public-key-bin';
export const TIMESTAMP_HEADER = 'flwr-timestamp';
export const SIGNATURE_HEADER = 'flwr-signature-bin';
/** Flower's TIMESTAMP_TOLERANCE and SYSTEM_TIME_TOLERANCE (seconds). */
export const TIMESTAMP_TOLERANCE_S = 300;
export const SYSTEM_TIME_TOLERANCE_S = 5;

export interface NodeKey {
  privateKey: KeyObject;
  /** PEM SubjectPublicKeyInfo bytes: what RegisterNode / ActivateNode carry and what the metadata header holds. */
  publicKeyPem: Uint8Array;
}

export function generateNodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  return { privateKey, publicKeyPem: new Uint8Array(Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'ascii')) };
}

function fromPrivatePem(pem: string, where: string): NodeKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new FlError('FL_KEY', `${where} is not a PEM private key`, { cause: e });
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new FlError('FL_KEY', `${where} is not a P-384 (secp384r1) EC key`);
  }
  const pub = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string;
  return { privateKey, publicKeyPem: new Uint8Array(Buffer.from(pub, 'ascii')) };
}

/**
 * The node key at `path`: loaded if present (owner-only permissions required), else generated and written with 0600.
 */
export async function loadOrCreateNodeKey(path: string): Promise<NodeKey> {
  let text: string | null = null;
  try {
    const st = await stat(path);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new FlError('FL_KEY', `${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it or delete it`);
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof FlError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new FlError('FL_KEY', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (text !== null) return fromPrivatePem(text, path);
  const key = generateNodeKey();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600); // a umask cannot widen it, but make the mode explicit
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateNodeKey(path); // another process won the race
    throw new FlError('FL_KEY', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
  return key;
}

/** Python's datetime.now(timezone.utc).isoformat(): microseconds and an explicit +00:00. */
export function isoTimestamp(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** The three authentication metadata entries for one call. */
export function authEntries(key: NodeKey, now = new Date()): { publicKey: Buffer; timestamp: string; signature: Buffer } {
  const timestamp = isoTimestamp(now);
  const signature = sign('sha256', Buffer.from(timestamp, 'ascii'), { key: key.privateKey, dsaEncoding: 'der' });
  return { publicKey: Buffer.from(key.publicKeyPem), timestamp, signature };
}

/** The SuperLink's check (used by the conformance server): signature valid and timestamp within tolerance. */
export function verifyAuthEntries(publicKeyPem: Uint8Array, timestamp: string, signature: Uint8Array, now = Date.now()): { ok: true } | { ok: false; reason: string } {
  let pub: KeyObject;
  try {
    pub = createPublicKey({ key: Buffer.from(publicKeyPem), format: 'pem' });
  } catch {
    return { ok: false, reason: 'public key is not PEM' };
  }
  let good = false;
  try {
    good = verify('sha256', Buffer.from(timestamp, 'ascii'), { key: pub, dsaEncoding: 'der' }, Buffer.from(signature));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'Invalid signature' };
  const t = Date.parse(timestamp);
  if (!Number.isFinite(t)) return { ok: false, reason: 'Invalid timestamp' };
  const diff = (now - t) / 1000;
  if (!(diff > -SYSTEM_TIME_TOLERANCE_S && diff < TIMESTAMP_TOLERANCE_S + SYSTEM_TIME_TOLERANCE_S)) return { ok: false, reason: 'Invalid timestamp' };
  return { ok: true };
}

/**
 * The node's public key in OpenSSH format (`ecdsa-sha2-nistp384 AAAA… comment`): what the coordinating site passes to
 * `flwr supernode register <file>` when its SuperLink runs with --enable-supernode-auth.
 */
export function openSshPublicKey(key: NodeKey, comment = 'medfedpure-workstation'): string {
  const jwk = createPublicKey(Buffer.from(key.publicKeyPem)).export({ format: 'jwk' }) as { x: string; y: string };
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([str(Buffer.from('ecdsa-sha2-nistp384')), str(Buffer.from('nistp384')), str(point)]);
  return `ecdsa-sha2-nistp384 ${blob.toString('base64')} ${comment}`;
}
