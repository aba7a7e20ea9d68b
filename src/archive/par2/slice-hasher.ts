/**
 * Hashes a file's bytes as PAR 2.0 needs them, in one sequential read: the
 * MD5 of the whole file and, per slice, the MD5 and CRC32 of the slice with
 * the last one zero-padded to the slice size.
 */

import { createHash, type Hash } from 'node:crypto';
import { crc32 } from './crc32.js';
import { IFSC_ENTRY_BYTES } from './packets.js';

export interface SliceChecksum {
  md5: Buffer;
  crc32: number;
}

/**
 * The IFSC entries (MD5 ‖ CRC32 LE) of the whole slices at the start of a byte range, computed
 * while something else reads the range: a later verify of that range compares them instead of
 * reading and hashing those slices again (`VerifyPar2Options.known`).
 */
export interface KnownSlices {
  blockSize: number;
  /** Slices 0..slices-1, each a whole block of the range as read. */
  slices: number;
  entries: Buffer;
}

export class SliceHasher {
  private readonly fileHash: Hash | null;
  private blockHash: Hash = createHash('md5');
  private blockCrc = 0;
  private inBlock = 0;
  private fed = 0;
  private block = 0;
  /** IFSC entries (MD5 ‖ CRC32 LE) of completed slices, when kept. */
  readonly entries: Buffer | undefined;

  /**
   * @param length bytes the file has; feeding stops counting there
   * @param blockSize the slice size
   * @param onSlice called as each slice completes, in order
   * @param keepEntries keep IFSC entries in `entries` (20 bytes per slice)
   * @param wholeFile also hash the whole file (`finish` returns it); a caller that wants the slices alone skips that pass
   */
  constructor(
    private readonly length: number,
    private readonly blockSize: number,
    private readonly onSlice?: (index: number, sum: SliceChecksum) => void,
    keepEntries = true,
    wholeFile = true,
  ) {
    this.entries = keepEntries ? Buffer.alloc(Math.ceil(length / blockSize) * IFSC_ENTRY_BYTES) : undefined;
    this.fileHash = wholeFile ? createHash('md5') : null;
  }

  /** Feeds the next bytes of the file, in order. Bytes past `length` are ignored. */
  update(data: Uint8Array): void {
    let pos = 0;
    let n = Math.min(data.length, this.length - this.fed);
    while (n > 0) {
      const take = Math.min(n, this.blockSize - this.inBlock);
      const part = data.subarray(pos, pos + take);
      this.fileHash?.update(part);
      this.blockHash.update(part);
      this.blockCrc = crc32(part, this.blockCrc);
      this.inBlock += take;
      this.fed += take;
      pos += take;
      n -= take;
      if (this.inBlock === this.blockSize) this.endBlock();
    }
  }

  /** Bytes fed so far. */
  get bytesFed(): number {
    return this.fed;
  }

  /** The entries of the whole slices fed so far (none when the entries are not kept). */
  known(): KnownSlices {
    return this.entries === undefined ? { blockSize: this.blockSize, slices: 0, entries: Buffer.alloc(0) } : { blockSize: this.blockSize, slices: this.block, entries: this.entries };
  }

  private endBlock(): void {
    const sum = { md5: this.blockHash.digest(), crc32: this.blockCrc };
    if (this.entries !== undefined) {
      sum.md5.copy(this.entries, this.block * IFSC_ENTRY_BYTES);
      this.entries.writeUInt32LE(sum.crc32, this.block * IFSC_ENTRY_BYTES + 16);
    }
    this.onSlice?.(this.block, sum);
    this.block++;
    this.blockHash = createHash('md5');
    this.blockCrc = 0;
    this.inBlock = 0;
  }

  /** Pads and closes the last slice; returns the whole file's MD5. Call once, after all bytes. */
  finish(): Buffer {
    if (this.fed !== this.length) throw new Error(`SliceHasher fed ${this.fed} of ${this.length} bytes`);
    if (this.inBlock > 0) {
      const zeros = Buffer.alloc(this.blockSize - this.inBlock);
      this.blockHash.update(zeros);
      this.blockCrc = crc32(zeros, this.blockCrc);
      this.inBlock = this.blockSize;
      this.endBlock();
    }
    return this.fileHash?.digest() ?? Buffer.alloc(0);
  }
}
