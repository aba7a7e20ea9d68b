/**
 * File access for PAR2: positioned reads and writes that loop over short
 * transfers, and the temp-file / fsync / rename sequence that makes an output
 * appear complete or not at all.
 *
 * (Durability has a shared home planned in store/durable-fs.ts; this module
 * keeps the PAR2 package free of a dependency on the store layer.)
 */

import { randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { asBriError } from '../../errors.js';
import { commitFile } from '../../store/durable-fs.js';

/**
 * Reads up to dest.length bytes at `position`, stopping at `limit` (an
 * absolute file offset) or at end of file; zero-fills the rest of dest.
 * Returns the number of bytes read.
 */
export async function readAt(fh: FileHandle, dest: Uint8Array, position: number, limit = Infinity): Promise<number> {
  const want = Math.max(0, Math.min(dest.length, limit - position));
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(dest, got, want - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got < dest.length) dest.fill(0, got);
  return got;
}

/** Writes all of data at `position`. */
export async function writeAt(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** An output being written beside its final path. */
export interface TempOutput {
  fh: FileHandle;
  tempPath: string;
  finalPath: string;
}

export async function openTempOutput(finalPath: string): Promise<TempOutput> {
  const tempPath = join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tempPath, 'wx+');
    return { fh, tempPath, finalPath };
  } catch (err) {
    throw asBriError(err, `par2: create ${tempPath}`, tempPath);
  }
}

/** fsync, close, rename over the final path, fsync the directory. */
export async function commitTempOutput(out: TempOutput): Promise<void> {
  try {
    await out.fh.sync();
    await out.fh.close();
    await commitFile(out.tempPath, out.finalPath, { synced: true });
  } catch (err) {
    await rm(out.tempPath, { force: true }).catch(() => undefined);
    throw asBriError(err, `par2: commit ${out.finalPath}`, out.tempPath);
  }
}

/** Closes and deletes a temp output after a failure. Never throws. */
export async function discardTempOutput(out: TempOutput): Promise<void> {
  await out.fh.close().catch(() => undefined);
  await rm(out.tempPath, { force: true }).catch(() => undefined);
}

/**
 * Reads of a file range in file order, served from one window of `windowBytes` read at a time: a
 * slice of a few KiB read alone costs a call into the thread pool and a promise each (measured: most
 * of a 6 MiB set's main-thread time in `read`). Calls may overlap; they are served one after another.
 * `ready`, when given, is awaited for the end of each window before it is read (a range still being written).
 */
export class WindowedReader {
  private window: Buffer = Buffer.alloc(0);
  private windowAt = 0;
  private windowLength = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fh: FileHandle,
    private readonly end: number,
    private readonly windowBytes: number,
    private readonly ready?: (end: number) => Promise<void>,
  ) {}

  /** Bytes [position, position + dest.length) into dest, zeros past the end; the count of bytes that were there. */
  read(dest: Uint8Array, position: number): Promise<number> {
    const next = this.queue.then(() => this.serve(dest, position));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async serve(dest: Uint8Array, position: number): Promise<number> {
    const want = Math.max(0, Math.min(dest.length, this.end - position));
    if (want === 0) {
      dest.fill(0);
      return 0;
    }
    if (position < this.windowAt || position + want > this.windowAt + this.windowLength) {
      const length = Math.min(Math.max(this.windowBytes, want), this.end - position);
      // No window until the read completes: a failed wait or read leaves none behind.
      this.windowLength = 0;
      if (this.window.length < length) this.window = Buffer.allocUnsafe(length);
      if (this.ready !== undefined) await this.ready(position + length);
      this.windowAt = position;
      this.windowLength = await readAt(this.fh, this.window.subarray(0, length), position, position + length);
    }
    const got = Math.max(0, Math.min(want, this.windowAt + this.windowLength - position));
    const from = position - this.windowAt;
    dest.set(this.window.subarray(from, from + got), 0);
    if (got < dest.length) dest.fill(0, got);
    return got;
  }
}
