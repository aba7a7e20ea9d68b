/**
 * How a failed WAL write is told, and which failures the writer recovers from. A failure that
 * left the segment as it was (the next segment could not be opened; a write that failed with
 * nothing written, or whose partial line was cut back) tears nothing: the lines it refused are
 * still owed to the disk (the state in memory has them) and go out ahead of the next write once
 * the cause is gone. Any other failure (a failed fsync, a line that could not be cut back) leaves
 * the segment's state unknown: the writer stays failed until the database is reopened.
 */
import * as fs from 'node:fs';
import { BriError, errnoOf, ErrorCodes, ioHint } from '../../errors.js';

/** A failure that left the segment as it was: the lines refused can be written again. */
export class NothingTorn extends Error {
  constructor(override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
  }
}

/** The failure a caller is told: `recoverable` when nothing was torn, `where` the file written (a write() error names none). */
export function walWriteFailed(cause: unknown, recoverable: boolean, where: string): BriError {
  const fix = ioHint(cause, where) ?? `Check the disk and the permissions of ${where}.`;
  const next = recoverable
    ? 'Nothing was torn: once that is fixed the database takes writes again, and the writes refused (already in memory) are written ahead of the next one: they may or may not end up durable.'
    : 'Then reopen the database; the writes that were not acknowledged may or may not be durable.';
  const errno = errnoOf(cause);
  return new BriError(ErrorCodes.IO_ERROR, `WAL write failed: ${(cause as Error)?.message ?? cause}`, {
    hint: `${fix} ${next}`,
    details: { ...(errno ? { errno } : {}), path: where, recoverable },
    cause,
  });
}

/** Writes `data` at the end of the segment; a failure part way cuts the segment back to `size`, or stays torn. */
export function appendWhole(fd: number, data: Buffer, size: number): void {
  let off = 0;
  try {
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
  } catch (err) {
    if (off === 0) throw new NothingTorn(err);
    try {
      fs.ftruncateSync(fd, size);
    } catch {
      throw err; // a partial line stays: only a reopen (whose recovery cuts a torn tail) may go on
    }
    throw new NothingTorn(err);
  }
}

/** A segment opened to append to, never through a link: root's command (a rollback under the lock) writing through one planted in wal/ would append to the file it names. */
const APPEND_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW;

/** Opens a segment to append to; a failure (EACCES, ENOSPC, EMFILE, ELOOP for a link) touched nothing. */
export function openSegment(file: string): number {
  try {
    return fs.openSync(file, APPEND_FLAGS, 0o644);
  } catch (err) {
    throw new NothingTorn(err);
  }
}

/**
 * A segment deleted under the open database (its data directory removed) takes every write without
 * a word, and they are gone at close: checked where a write becomes durable (one fstat, beside an fdatasync).
 */
export function assertStillNamed(fd: number, segment: string): void {
  if (fs.fstatSync(fd).nlink > 0) return;
  throw Object.assign(new Error(`ENOENT: the WAL segment ${segment} was deleted while the database was open (the data directory removed?)`), { code: 'ENOENT', syscall: 'write' });
}
