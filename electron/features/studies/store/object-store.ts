/**
 * Content-addressed file store: each object lives at <root>/<sha256[0..2]>/<sha256[2..]>.
 * Writes go to a temporary file in <root>/tmp, are fsynced, then renamed into place (atomic on one file
 * system), so a crash never leaves a half-written object under its final name. Writing an object that exists
 * is a no-op.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ObjectStore {
  private readonly tmpDir: string;
  constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true });
  }

  pathOf(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a sha256 hex digest: ${hash}`);
    return join(this.root, hash.slice(0, 2), hash.slice(2));
  }

  has(hash: string): boolean {
    return existsSync(this.pathOf(hash));
  }

  /** Stores the bytes and returns their sha256. */
  put(bytes: Uint8Array, hash = sha256Hex(bytes)): string {
    const dest = this.pathOf(hash);
    if (existsSync(dest)) return hash;
    mkdirSync(join(this.root, hash.slice(0, 2)), { recursive: true });
    const tmp = join(this.tmpDir, `${hash.slice(0, 16)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, dest);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return hash;
  }

  get(hash: string): Buffer {
    return readFileSync(this.pathOf(hash));
  }
}
