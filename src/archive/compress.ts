/**
 * zstd for archive members (zstd-napi), streamed, with the SHA-256 of both
 * sides computed on the way, and decompression that refuses to go past the
 * size the manifest declared (a zip bomb stops there).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { BriError, ErrorCodes } from '../errors.js';

export const DEFAULT_ZSTD_LEVEL = 19;

export interface CompressedMember {
  /** Path of the compressed file written. */
  path: string;
  originalSize: number;
  compressedSize: number;
  /** sha256 of the compressed bytes (what the tar member holds). */
  sha256: string;
  /** sha256 of the original bytes. */
  contentSha256: string;
}

export interface CompressOptions {
  level: number;
  /** zstd worker threads (0: compress on the calling thread). */
  workers?: number;
  onBytes?: (originalBytes: number) => void;
}

/** A pass-through that hashes and counts what flows. */
export class HashCounter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    done(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Compresses a stream of bytes into `outPath` (fsynced), returning sizes and hashes. */
export async function compressToFile(source: AsyncIterable<Buffer> | Readable, outPath: string, opts: CompressOptions): Promise<CompressedMember> {
  const input = new HashCounter(opts.onBytes);
  const output = new HashCounter();
  const zstd = new CompressStream({ compressionLevel: opts.level, nbWorkers: opts.workers ?? 0, checksumFlag: true, contentSizeFlag: true });
  const readable = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
  // A path-based stream: a FileHandle stream with autoClose off never emits 'close', and pipeline waits for it.
  await pipeline(readable, input, zstd, output, fs.createWriteStream(outPath, { mode: 0o644 }));
  const fh = await fs.promises.open(outPath, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { path: outPath, originalSize: input.bytes, compressedSize: output.bytes, sha256: output.digest(), contentSha256: input.digest() };
}

function corrupted(member: string, err: unknown): BriError {
  if (err instanceof BriError) return err;
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${member}: zstd data is damaged (${(err as Error)?.message ?? err})`, {
    hint: 'Repair the archive with its PAR2 data (`bri archive repair`) or use another copy.',
    details: { member },
    cause: err,
  });
}

/**
 * Decompresses `source`, yielding chunks, and stops with ARCHIVE_CORRUPTED as soon as the
 * output passes `limit` bytes (the size the manifest declared) or the data is damaged.
 */
export async function* decompressChunks(source: AsyncIterable<Buffer>, member: string, limit: number): AsyncGenerator<Buffer> {
  const zstd = new DecompressStream();
  const input = Readable.from(source, { objectMode: false });
  input.on('error', (err) => zstd.destroy(err));
  input.pipe(zstd);
  let total = 0;
  try {
    for await (const chunk of zstd as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${member} decompresses to more than its declared ${limit} bytes`, {
          hint: 'The archive is damaged or hostile; it was not unpacked.',
          details: { member, declared: limit },
        });
      }
      yield chunk;
    }
  } catch (err) {
    throw corrupted(member, err);
  } finally {
    input.unpipe(zstd);
    input.destroy();
    zstd.destroy();
  }
}
