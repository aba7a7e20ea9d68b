/**
 * Downloading one object into a file with parallel ranged reads, for any RemoteStore.
 *
 * An object larger than one part is read as parts of `partBytes` (default 8 MiB), at most
 * `concurrency` (default 4) in flight, each a ranged `get` whose chunks are written at their
 * offsets with positional writes. A part whose connection drops is resumed by the store's retry
 * wrapper (retry.ts) from the first byte it had delivered, not from the part's start, within the
 * same attempt budget. The last part asks for everything to the end, so that an object longer
 * than expected is seen. An object of one part or less is one plain `get`.
 *
 * The SHA-256 of the whole file is computed while the parts arrive: a follower reads back, in
 * order, what the parts have written contiguously (from the page cache) and hashes it, so the
 * digest is that of the bytes in the file. The file is fsynced before the call resolves; on any
 * failure it is removed. Memory stays bounded: each part holds only its stream's buffers, and
 * the follower one read buffer.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import { remoteFailure, type RemoteErrorContext } from './remote-errors.js';
import type { RemoteStore } from './remote.js';
import { freshFile } from '../store/durable-fs.js';

const MiB = 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * MiB;
export const DEFAULT_CONCURRENCY = 4;
const READ_BACK_BYTES = MiB;

export interface RangedDownloadOptions {
  /** The object's size as the caller knows it (a listing, a head, a record). Any other size is an error. */
  size: number;
  /** When given, the bytes must hash to it (lowercase hex): otherwise an integrity REMOTE_ERROR. */
  sha256?: string;
  /** Bytes per ranged read (default 8 MiB). */
  partBytes?: number;
  /** Ranged reads in flight (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Told the bytes written so far (all parts together). */
  onBytes?: (doneBytes: number, totalBytes: number) => void;
}

export interface RangedDownloadResult {
  sha256: string;
  size: number;
  /** Ranged reads made (1 for a single plain get; retries of a part not counted). */
  parts: number;
}

/** Wakes the follower when a part writes or the download fails. */
class Pulse {
  private waiter: (() => void) | undefined;
  notify(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

/**
 * Downloads `key` from `store` into `file` (created, mode 0600, replaced if there) and returns its
 * SHA-256 and size. Rejects with the store's BriError (REMOTE_NOT_FOUND, REMOTE_ERROR, CANCELLED),
 * or a REMOTE_ERROR with `details.integrity` when the object's size or digest is not the one
 * expected; the file is then removed.
 */
export async function downloadRanged(store: RemoteStore, key: string, file: string, opts: RangedDownloadOptions): Promise<RangedDownloadResult> {
  const size = opts.size;
  const partBytes = Math.max(64 * 1024, Math.floor(opts.partBytes ?? DEFAULT_PART_BYTES));
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_CONCURRENCY));
  const ctx: RemoteErrorContext = { provider: store.provider, op: 'get', key };
  if (!Number.isSafeInteger(size) || size < 0) throw new BriError(ErrorCodes.USAGE, `download of ${key}: bad expected size ${size}`);
  const count = size <= partBytes ? 1 : Math.ceil(size / partBytes);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) controller.abort(opts.signal.reason);
  const fh = await freshFile(file, 0o600, { readable: true });
  let failure: unknown;
  const pulse = new Pulse();
  const fail = (err: unknown): void => {
    failure ??= err;
    controller.abort();
    pulse.notify();
  };
  const written = new Array<number>(count).fill(0);
  const partLen = (i: number): number => (i === count - 1 ? size - i * partBytes : partBytes);
  let done = 0;
  const tooLong = (): BriError =>
    remoteFailure(ctx, `the object is longer than the ${size} bytes expected`, { details: { integrity: true, expectedBytes: size } });

  /** Reads one part (or, for a single part, the whole object) and writes it at its offset. */
  const readPart = async (i: number): Promise<void> => {
    const start = i * partBytes;
    const range = count === 1 ? undefined : { start, end: i === count - 1 ? Number.MAX_SAFE_INTEGER : start + partBytes - 1 };
    const body = await store.get(key, { signal: controller.signal, ...(range ? { range } : {}) });
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (failure !== undefined) return;
        if (written[i]! + chunk.length > partLen(i)) throw tooLong();
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, start + written[i]! + off);
          off += bytesWritten;
        }
        written[i]! += chunk.length;
        done += chunk.length;
        opts.onBytes?.(done, size);
        pulse.notify();
      }
    } finally {
      body.destroy();
    }
    if (written[i]! < partLen(i)) {
      throw remoteFailure(ctx, `the object is shorter than the ${size} bytes expected (part at ${start}: ${written[i]} of ${partLen(i)} bytes)`, {
        details: { integrity: true, expectedBytes: size },
      });
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const i = next++;
      try {
        await readPart(i);
      } catch (err) {
        fail(err);
      }
    }
  };

  const hash = createHash('sha256');
  /** Follows the parts: hashes, in order, the bytes written contiguously from offset 0. */
  const follow = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(Math.min(READ_BACK_BYTES, Math.max(1, size)));
    let hashed = 0;
    while (hashed < size && failure === undefined) {
      const i = Math.floor(hashed / partBytes);
      const frontier = i * partBytes + written[i]!;
      if (frontier <= hashed) {
        await pulse.wait();
        continue;
      }
      const want = Math.min(buf.length, frontier - hashed);
      const { bytesRead } = await fh.read(buf, 0, want, hashed);
      if (bytesRead <= 0) throw new Error(`read back ${file} at ${hashed}: no bytes`);
      hash.update(buf.subarray(0, bytesRead));
      hashed += bytesRead;
    }
  };

  try {
    const following = follow().catch((err: unknown) => fail(err));
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, () => worker()));
    pulse.notify();
    await following;
    if (failure !== undefined) throw failure;
    await fh.sync();
    const sha256 = hash.digest('hex');
    if (opts.sha256 !== undefined && sha256 !== opts.sha256.toLowerCase()) {
      throw remoteFailure(ctx, `the downloaded bytes do not hash to the SHA-256 expected`, { details: { integrity: true, expected: opts.sha256, actual: sha256 } });
    }
    await fh.close();
    return { sha256, size, parts: count };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fsp.rm(file, { force: true });
    if (opts.signal?.aborted && !isBriError(err, ErrorCodes.CANCELLED)) {
      throw new BriError(ErrorCodes.CANCELLED, `${store.provider} get ${key}: cancelled`, { details: { provider: store.provider, op: 'get', key, retryable: false } });
    }
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
