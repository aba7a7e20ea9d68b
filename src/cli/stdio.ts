/**
 * Writing standard output and standard error so that a short write is seen. Behind `> file` Node's
 * stdout is a SyncWriteStream: one write() whose count it ignores, so a file-size limit (ulimit -f) or
 * a disk filling mid-document left half a JSON document and exit 0. A file (or a device that is not a
 * terminal) is written here until every byte is out or the call fails; a pipe or a terminal goes
 * through Node's stream, which writes all of it (a failure there is its 'error' event: main.ts).
 */
import * as fs from 'node:fs';
import { isatty } from 'node:tty';
import { BriError, ErrorCodes, errnoOf, ioHint } from '../errors.js';

const fileBehind = new Map<number, boolean>();

/** Whether Node writes this descriptor with one unchecked write() (a regular file, /dev/full, /dev/null). */
function isFileBehind(fd: number): boolean {
  let known = fileBehind.get(fd);
  if (known === undefined) {
    try {
      const st = fs.fstatSync(fd);
      known = st.isFile() || (st.isCharacterDevice() && !isatty(fd));
    } catch {
      known = false;
    }
    fileBehind.set(fd, known);
  }
  return known;
}

/** Writes every byte of `text`, counting each part written; throws the call's failure (EFBIG, ENOSPC, ...). */
function writeAll(fd: number, text: string, onWritten: (bytes: number) => void): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) {
    const n = fs.writeSync(fd, bytes, at);
    // A write that takes nothing and says no error would loop for ever: the output stops there.
    if (n <= 0) throw new Error(`write() took none of the last ${bytes.length - at} bytes`);
    at += n;
    onWritten(n);
  }
}

let stdoutWritten = 0;
let stdoutFailed: { error: unknown } | undefined;

/** Writes to standard output; after a failure nothing more (the rest after a gap would only look whole). */
export function writeStdout(text: string): void {
  if (stdoutFailed) return;
  if (!isFileBehind(1)) {
    process.stdout.write(text);
    return;
  }
  try {
    writeAll(1, text, (n) => (stdoutWritten += n));
  } catch (error) {
    stdoutFailed = { error };
  }
}

/** Writes to standard error; a failure there has nowhere to be said (the exit code still says the outcome). */
export function writeStderr(text: string): void {
  if (!isFileBehind(2)) {
    process.stderr.write(text);
    return;
  }
  try {
    writeAll(2, text, () => undefined);
  } catch {
    // nowhere left to say it
  }
}

/** The failure of a write to a file behind standard output, if one failed, and the bytes that were written. */
export function stdoutFailure(): { error: unknown; written: number } | undefined {
  return stdoutFailed && { error: stdoutFailed.error, written: stdoutWritten };
}

const CAUSE: Record<string, string> = {
  ENOSPC: 'The disk (or quota) holding standard output is full: free space there, or send the output elsewhere.',
  EDQUOT: 'The disk quota for standard output is used up: free space there, or send the output elsewhere.',
  EFBIG: 'Standard output reached the file-size limit (ulimit -f): raise it, or send the output elsewhere.',
};

/**
 * A failure to write the output as an IO_ERROR naming standard output. Its hint says the output is
 * incomplete (never "nothing half-written was kept": the part written stays in the file) and that the
 * command itself ran to its end, so that a script neither uses the output nor runs a change twice blindly.
 * `written`: the bytes written before it, when known.
 */
export function outputError(err: unknown, written?: number): BriError {
  const errno = errnoOf(err);
  const cause = (errno && CAUSE[errno]) ?? ioHint(err, 'standard output') ?? 'Standard output could not be written.';
  const part = written === undefined ? '' : written === 0 ? ' (nothing of it was written)' : ` (only its first ${written} bytes were written)`;
  return new BriError(ErrorCodes.IO_ERROR, `writing the output: ${err instanceof Error ? err.message : String(err)}`, {
    hint: `${cause} The command ran to its end, but its output is incomplete${part}: do not use that output.`,
    details: { path: 'standard output', ...(errno ? { errno } : {}), ...(written !== undefined ? { written } : {}) },
    cause: err,
  });
}
