/**
 * Shared memory for members handed to the decoder threads, used again once a
 * member is done with. Fresh memory costs a page fault per 4 KiB on first
 * write, which on this kind of host is most of what copying a member costs
 * (a verify of 200 MiB of WAL spent 170 ms of its reading thread there).
 */

export class SharedPool {
  private readonly free: SharedArrayBuffer[] = [];

  /** @param keep buffers kept for later members at most (the members in flight at once) */
  constructor(private readonly keep: number) {}

  /** A buffer of `size` bytes (its first `size` bytes: the rest of a larger one is not the caller's). */
  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.byteLength >= size);
    // A little room over the size, so that the next member of about the same size fits.
    const sab = i >= 0 ? this.free.splice(i, 1)[0]! : new SharedArrayBuffer(Math.ceil(size * 1.125));
    return Buffer.from(sab, 0, size);
  }

  /** Gives back a buffer that nothing reads any more (not one a cancelled thread may still read). */
  give(buf: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buf.buffer as SharedArrayBuffer);
  }
}
