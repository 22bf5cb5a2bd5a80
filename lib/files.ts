/**
 * Opening files that nodetrain reads (model folders, weights, CSV): regular files only, opened
 * without blocking. A named pipe would block `open` (and a libuv thread) until a writer appears,
 * and a device such as /dev/zero never ends, so both are refused before anything is read: the
 * file is opened with O_NONBLOCK (which makes `open` of a FIFO return at once and changes nothing
 * for a regular file) and checked with fstat on the open descriptor, so a path swapped between a
 * check and the open cannot slip through.
 */
import * as fs from 'fs';

import * as v from './validate';

const FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'a special file';
}

/**
 * Opens a regular file for reading and returns its handle and size.
 * @param name the argument name used in the error message
 * @throws ArgumentRangeError ERR_NT_INVALID_ARGUMENT_VALUE when the path is not a regular file;
 *   the fs error (ENOENT, EACCES, ...) when it cannot be opened.
 */
export async function openRegularFile(path: string, name: string): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  const handle = await fs.promises.open(path, FLAGS);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw v.rangeError('a regular file', name, v.described(`${kindOf(st)} at ${path}`));
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Reads exactly `length` bytes at `position` (fewer only at the end of the file). */
export async function readAt(handle: fs.promises.FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Reads a whole regular file, refusing one larger than `maxBytes` before reading it.
 * @throws as openRegularFile; ArgumentRangeError when the file is larger than maxBytes.
 */
export async function readRegularFile(path: string, name: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, name);
  try {
    if (size > maxBytes) throw v.rangeError(`a file of at most ${maxBytes} bytes`, name, v.described(`${size} bytes at ${path}`));
    return await readAt(handle, size, 0);
  } finally {
    await handle.close();
  }
}
