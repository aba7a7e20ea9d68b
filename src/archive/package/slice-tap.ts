/**
 * The PAR2 slice checksums of an archive's bytes, taken while a verify reads
 * its members (readPackage's `tap`): the check against the recovery data then
 * compares them instead of reading and hashing the file a second time.
 *
 * The slice size is the manifest's, known only once the first member is read:
 * the bytes seen before are held until then (the first read, about 1 MiB).
 * Nothing here decides anything: a manifest that lies about the slice size, or
 * a file read short, leaves entries that the set's own size does not take, and
 * the check reads the file as before. (Also the tap of one member's stored bytes, hashed as they pass.)
 */
import { createHash } from 'node:crypto';
import { SliceHasher, type KnownSlices } from '../par2/index.js';
import type { Manifest } from '../../format/manifest.js';

/** More slices than this (a tiny slice size in a hostile manifest) are not kept: the check reads the file instead. */
const MAX_SLICES = 1 << 17;

export class SliceTap {
  private held: Buffer[] | null = [];
  private hasher: SliceHasher | null = null;

  /** @param fileSize the archive's size as found before the read */
  constructor(private readonly fileSize: number) {}

  /** readPackage's tap. */
  readonly tap = (chunk: Buffer): void => {
    if (this.hasher) this.hasher.update(chunk);
    else this.held?.push(chunk);
  };

  /** Once the manifest is read: its slice size starts the hashing (or stops the holding, without recovery data). */
  start(m: Manifest): void {
    const held = this.held ?? [];
    this.held = null;
    const B = m.errorCorrection.enabled ? m.errorCorrection.blockSize : null;
    if (B === null || !Number.isSafeInteger(B) || B <= 0 || B > this.fileSize || this.fileSize / B > MAX_SLICES) return;
    this.hasher = new SliceHasher(this.fileSize, B, undefined, true, false);
    for (const c of held) this.hasher.update(c);
  }

  /** The whole slices hashed so far (undefined: none are). */
  known(): KnownSlices | undefined {
    return this.hasher?.known();
  }
}

/** A member's stored bytes, hashed as they pass, whoever reads them and however far: `digest` reads the rest. */
export function storedTap(data: AsyncIterable<Buffer>, onBytes: (n: number) => void): { bytes: AsyncIterable<Buffer>; digest(): Promise<string> } {
  const hash = createHash('sha256');
  const it = data[Symbol.asyncIterator]();
  const next = async () => {
    const r = await it.next();
    if (!r.done) {
      hash.update(r.value);
      onBytes(r.value.length);
    }
    return r;
  };
  // No return(): a reader that stops early (a decryption error) leaves the rest for digest().
  const bytes: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next }) };
  return {
    bytes,
    async digest() {
      while (!(await next()).done);
      return hash.digest('hex');
    },
  };
}
