/**
 * Crash-safe file replacement: write a temporary file in the target's folder, fsync it, rename it
 * over the target (atomic on POSIX and on NTFS for files in one folder), then fsync the folder so
 * the rename itself is durable. Readers see either the old file or the complete new one, never a
 * partial write; on any failure the temporary file is removed and the old file is left untouched.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import * as v from '../validate';

/** File content: bytes, a string (UTF-8), or chunks produced one at a time (written in order). */
export type AtomicData = Uint8Array | string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o666, minus the umask). */
  mode?: number;
  /** fsync the file and its folder (default true). false trades durability for speed (tests, caches). */
  fsync?: boolean;
}

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
}

function checkArgs(target: unknown, data: unknown, opts: AtomicWriteOptions): { mode: number; sync: boolean } {
  v.string('path', target);
  if ((target as string).length === 0) throw v.rangeError('a non-empty path', 'path', target);
  if (data === null || data === undefined || (typeof data !== 'string' && typeof data !== 'object')) {
    throw v.typeError('a Uint8Array, a string or an iterable of chunks', 'data', data);
  }
  v.plainObject('options', opts);
  v.knownKeys('options', opts as Record<string, unknown>, ['mode', 'fsync']);
  return {
    mode: v.optional(opts.mode, 0o666, (m) => v.integer('options.mode', m, 0, 0o7777)),
    sync: v.optional(opts.fsync, true, (s) => v.boolean('options.fsync', s)),
  };
}

function chunkBytes(c: unknown, i: number): Uint8Array {
  if (typeof c === 'string') return Buffer.from(c, 'utf8');
  if (c instanceof Uint8Array) return c;
  throw v.typeError('a Uint8Array or a string', `data chunk ${i}`, c);
}

/** fsync a folder so a rename in it survives a crash; not every platform allows it (Windows). */
async function syncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    /* best effort: folders cannot be opened or synced on some platforms/filesystems */
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function syncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* best effort, as above */
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
  }
}

/**
 * Writes a file atomically: either the complete new content replaces the file, or (on any error,
 * including one thrown by a chunk iterator) the previous file stays as it was and no temporary
 * file is left behind.
 * @param data bytes, a string, or (async) iterable chunks, so large files need not be concatenated
 * @throws TypeError for bad arguments; the fs error (with its code) when writing or renaming fails;
 *   whatever a chunk iterator throws.
 * @example await writeFileAtomic('model/weights.safetensors', bytes);
 */
export async function writeFileAtomic(target: string, data: AtomicData, opts: AtomicWriteOptions = {}): Promise<void> {
  const { mode, sync } = checkArgs(target, data, opts);
  const tmp = tempName(target);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, 'wx', mode);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await fh.writeFile(data);
    } else {
      let i = 0;
      for await (const chunk of data as AsyncIterable<Uint8Array | string>) await fh.writeFile(chunkBytes(chunk, i++));
    }
    if (sync) await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, target);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (sync) await syncDir(path.dirname(target));
}

/**
 * Synchronous writeFileAtomic (data: bytes, a string or a synchronous iterable of chunks).
 * @throws as writeFileAtomic.
 * @example writeFileAtomicSync('config.json', JSON.stringify(cfg));
 */
export function writeFileAtomicSync(target: string, data: Uint8Array | string | Iterable<Uint8Array | string>, opts: AtomicWriteOptions = {}): void {
  const { mode, sync } = checkArgs(target, data, opts);
  if (typeof data !== 'string' && !(data instanceof Uint8Array) && typeof (data as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw v.typeError('a Uint8Array, a string or an iterable of chunks', 'data', data);
  }
  const tmp = tempName(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      fs.writeFileSync(fd, data);
    } else {
      let i = 0;
      for (const chunk of data) fs.writeFileSync(fd, chunkBytes(chunk, i++));
    }
    if (sync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* it may not exist */
    }
    throw e;
  }
  if (sync) syncDirSync(path.dirname(target));
}

/**
 * Writes several files into a folder so that a reader never sees a mix of old and new files: the
 * files go into a fresh sibling folder first (each fsynced); then the old folder, if any, is moved
 * aside, the new one renamed into place, and the old one deleted. If anything fails before the
 * swap, the old folder is untouched; if the final rename fails, the old folder is moved back.
 * Only the instant between the two renames leaves no folder at `dir` (POSIX cannot rename over a
 * non-empty folder); a crash there leaves the complete old folder beside it as `.<name>.*.old`.
 * @param files file name (no path separators) -> content
 * @throws RangeError for a file name with a path separator; the fs error when writing fails.
 * @example await writeDirAtomic('my-model', { 'model.json': json, 'weights.safetensors': bytes });
 */
export async function writeDirAtomic(dir: string, files: Record<string, AtomicData>, opts: AtomicWriteOptions = {}): Promise<void> {
  v.string('dir', dir);
  if (dir.length === 0) throw v.rangeError('a non-empty path', 'dir', dir);
  v.plainObject('files', files);
  for (const name of Object.keys(files)) {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\')) {
      throw v.rangeError('a file name without path separators', 'files', name);
    }
  }
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  const stamp = `${process.pid}.${crypto.randomBytes(6).toString('hex')}`;
  const fresh = path.join(parent, `.${base}.${stamp}.new`);
  const old = path.join(parent, `.${base}.${stamp}.old`);
  const sync = opts.fsync ?? true;
  await fs.promises.mkdir(fresh);
  try {
    for (const [name, data] of Object.entries(files)) {
      // Each file is itself written atomically inside the fresh folder (no folder fsync per file).
      await writeFileAtomic(path.join(fresh, name), data, { ...opts, fsync: sync });
    }
    if (sync) await syncDir(fresh);
    let hadOld = false;
    try {
      await fs.promises.rename(target, old);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      await fs.promises.rename(fresh, target);
    } catch (e) {
      if (hadOld) await fs.promises.rename(old, target).catch(() => undefined);
      throw e;
    }
    if (sync) await syncDir(parent);
    if (hadOld) await fs.promises.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.promises.rm(fresh, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}
