/**
 * A pass-through stream that hashes what flows through it, so that an upload
 * is hashed on its way out (one read of the file) and the remote's answer can
 * be checked against the bytes actually sent.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32cUpdate } from './crc32c.js';

export interface HashTapOptions {
  /** Also compute CRC-32C (GCS). */
  crc32c?: boolean;
  /** Split the bytes into parts of this many bytes for per-part digests (S3 multipart). */
  partSize?: number;
  /** With partSize: per-part MD5s (S3 multipart ETag). Default true. */
  partMd5?: boolean;
  /** With partSize: per-part SHA-256s (S3 composite x-amz-checksum-sha256). Default false. */
  partSha256?: boolean;
  /** Fail the stream once more than this many bytes went through (a file that grew). */
  maxBytes?: number;
  /** Told the bytes through so far, after each chunk (upload progress). */
  onBytes?: (bytes: number) => void;
}

/** Digests of everything that went through a HashTap. */
export interface Digests {
  size: number;
  sha256: Buffer;
  md5: Buffer;
  crc32c?: number;
  partMd5s?: Buffer[];
  partSha256s?: Buffer[];
}

export class HashTap extends Transform {
  private readonly sha256 = createHash('sha256');
  private readonly md5 = createHash('md5');
  private crc: number | undefined;
  private readonly partSize: number | undefined;
  private readonly withPartSha: boolean;
  private readonly withPartMd5: boolean;
  private partMd5: Hash | undefined;
  private partSha: Hash | undefined;
  private inPart = false;
  private partFill = 0;
  private readonly partMd5s: Buffer[] = [];
  private readonly partShas: Buffer[] = [];
  private readonly maxBytes: number;
  private readonly onBytes: ((bytes: number) => void) | undefined;
  private bytes = 0;
  private result: Digests | undefined;

  constructor(opts: HashTapOptions = {}) {
    super();
    this.crc = opts.crc32c ? 0 : undefined;
    this.partSize = opts.partSize;
    this.withPartSha = opts.partSha256 === true;
    this.withPartMd5 = opts.partMd5 !== false;
    this.maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    this.onBytes = opts.onBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(new Error(`the source grew past its declared size of ${this.maxBytes} bytes`));
      return;
    }
    this.sha256.update(chunk);
    this.md5.update(chunk);
    if (this.crc !== undefined) this.crc = crc32cUpdate(this.crc, chunk);
    if (this.partSize !== undefined) this.updateParts(chunk);
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }

  private updateParts(chunk: Buffer): void {
    const partSize = this.partSize!;
    let off = 0;
    while (off < chunk.length) {
      if (!this.inPart) {
        this.inPart = true;
        if (this.withPartMd5) this.partMd5 = createHash('md5');
        if (this.withPartSha) this.partSha = createHash('sha256');
        this.partFill = 0;
      }
      const take = Math.min(partSize - this.partFill, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      this.partMd5?.update(piece);
      this.partSha?.update(piece);
      this.partFill += take;
      off += take;
      if (this.partFill === partSize) this.closePart();
    }
  }

  private closePart(): void {
    if (!this.inPart) return;
    if (this.partMd5 !== undefined) this.partMd5s.push(this.partMd5.digest());
    if (this.partSha !== undefined) this.partShas.push(this.partSha.digest());
    this.inPart = false;
    this.partMd5 = undefined;
    this.partSha = undefined;
  }

  override _flush(cb: TransformCallback): void {
    this.finish();
    cb();
  }

  private finish(): Digests {
    if (this.result !== undefined) return this.result;
    if (this.partSize !== undefined) this.closePart();
    this.result = {
      size: this.bytes,
      sha256: this.sha256.digest(),
      md5: this.md5.digest(),
      ...(this.crc !== undefined ? { crc32c: this.crc } : {}),
      ...(this.partSize !== undefined && this.withPartMd5 ? { partMd5s: this.partMd5s } : {}),
      ...(this.partSize !== undefined && this.withPartSha ? { partSha256s: this.partShas } : {}),
    };
    return this.result;
  }

  /** The digests, or undefined while the source has not ended. */
  tryDigests(): Digests | undefined {
    return this.result;
  }

  /**
   * The digests once the source has ended. A server may answer as soon as it
   * got the declared number of bytes, a moment before the file stream sees
   * its end: this waits for that (up to `timeoutMs`), undefined if it never comes.
   */
  async settled(timeoutMs = 10_000): Promise<Digests | undefined> {
    if (this.result !== undefined) return this.result;
    if (this.destroyed) return undefined;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('finish', done);
        this.off('close', done);
        this.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.once('finish', done);
      this.once('close', done);
      this.once('error', done);
    });
    return this.result;
  }

  /** The digests; only valid once the stream ended (throws before). */
  digests(): Digests {
    if (this.result === undefined) throw new Error('HashTap.digests() called before the stream ended');
    return this.result;
  }
}

/** S3's multipart form: hash of the concatenated part digests, hex, then `-<parts>`. */
export function multipartDigest(algorithm: 'md5' | 'sha256', parts: readonly Buffer[]): string {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return `${h.digest('hex')}-${parts.length}`;
}
