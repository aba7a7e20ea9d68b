/**
 * The files BRI keeps (a WAL segment, snapshot.jss, bri.lock, bri-archive.json, an archive, a seed) are
 * regular files; something else at one of those names (a FIFO, a socket, a device) must be refused, not
 * read: opening a FIFO waits for a writer (or, to append, for a reader) for ever, on the main thread for a
 * sync open, which freezes timers and all. Opened with O_NONBLOCK (no effect on a regular file), then
 * checked on the handle itself (fstat), so that nothing swapped in between the check and the read is read.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes } from '../../errors.js';

const { O_RDONLY, O_WRONLY, O_APPEND, O_CREAT, O_NONBLOCK } = fs.constants;
const READ = O_RDONLY | O_NONBLOCK;
const APPEND = O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK;

/** What a file that is not a regular one is, said in a message. */
export function kindOfFile(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The refusal of `file`, which is `st` and no regular file, where BRI keeps `what`: an IO_ERROR naming the file and what it is. */
export function notRegularFile(file: string, st: fs.Stats, what = 'a regular file'): BriError {
  return new BriError(ErrorCodes.IO_ERROR, `${file} is ${kindOfFile(st)}, not a regular file`, {
    hint: `BRI keeps ${what} at ${file}, and something else made what is there: move it away, then run it again.`,
    details: { path: file, kind: kindOfFile(st) },
  });
}

/** notRegularFile, but a directory keeps the errno error a read of it gives (EISDIR), which callers already tell apart. */
function notRegular(file: string, st: fs.Stats): Error {
  if (!st.isDirectory()) return notRegularFile(file, st);
  return Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), { code: 'EISDIR', errno: -21, syscall: 'read', path: file });
}

/** ENXIO: opening a FIFO to write with no reader (O_NONBLOCK), or a socket: said as what is there, when it can be. */
function refusedOpen(err: unknown, file: string): unknown {
  if ((err as NodeJS.ErrnoException)?.code !== 'ENXIO') return err;
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st && !st.isFile() ? notRegular(file, st) : err;
}

/** Opens `file` to read ('r') or to append, creating it ('a'), refusing anything but a regular file. */
export async function openRegularFile(file: string, flags: 'r' | 'a' = 'r', mode = 0o644): Promise<fsp.FileHandle> {
  const fh = await fsp.open(file, flags === 'r' ? READ : APPEND, mode).catch((err: unknown) => Promise.reject(refusedOpen(err, file)));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(file, st);
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** The same as openRegularFile, on the calling thread: a file descriptor. */
export function openRegularFileSync(file: string, flags: 'r' | 'a' = 'r', mode = 0o644): number {
  let fd: number;
  try {
    fd = fs.openSync(file, flags === 'r' ? READ : APPEND, mode);
  } catch (err) {
    throw refusedOpen(err, file);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular(file, st);
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** The bytes of the regular file `file` (fs.readFile's errors otherwise: ENOENT, EACCES, EISDIR). */
export async function readRegularFile(file: string): Promise<Buffer>;
export async function readRegularFile(file: string, encoding: BufferEncoding): Promise<string>;
export async function readRegularFile(file: string, encoding?: BufferEncoding): Promise<Buffer | string> {
  const fh = await openRegularFile(file);
  try {
    const bytes = await fh.readFile();
    return encoding === undefined ? bytes : bytes.toString(encoding);
  } finally {
    await fh.close();
  }
}

/** The same as readRegularFile, on the calling thread (for what must answer synchronously). */
export function readRegularFileSync(file: string): Buffer;
export function readRegularFileSync(file: string, encoding: BufferEncoding): string;
export function readRegularFileSync(file: string, encoding?: BufferEncoding): Buffer | string {
  const fd = openRegularFileSync(file);
  try {
    const bytes = fs.readFileSync(fd);
    return encoding === undefined ? bytes : bytes.toString(encoding);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether `file` is a regular file (links followed); false when it is missing or cannot be looked at. */
export async function isRegularFile(file: string): Promise<boolean> {
  return (await fsp.stat(file).catch(() => null))?.isFile() === true;
}
