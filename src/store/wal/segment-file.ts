/**
 * A WAL segment written whole, from the first line (a restore builds one per archived segment,
 * and one for the shipped WAL): created empty under its segment name in wal/, appended to in
 * batches, fsynced on finish, removed when it ends up holding no line.
 *
 * Writes go behind: appended bytes are gathered up to WRITE_BATCH and written with one
 * writev while the caller goes on decompressing and checking the next ones (one write in
 * flight at a time, so memory stays bounded). A write that fails is thrown by the next
 * append or by finish().
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { clearName, freshFile, fsyncDir, ownLikeDir } from '../durable-fs.js';
import { listSegments, segmentName, WAL_DIR } from '../layout.js';

/** Bytes gathered before one writev: fewer thread-pool round trips than a write per 64 KiB piece. */
const WRITE_BATCH = 1024 * 1024;

export class SegmentFile {
  private lines = 0;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private inflight: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
  ) {}

  /** Creates wal/<name> in `dataDir` (a name as the archive recorded it, or a segment index). */
  static async create(dataDir: string, name: string | number): Promise<SegmentFile> {
    const file = path.join(dataDir, WAL_DIR, typeof name === 'number' ? segmentName(name) : name);
    const fh = await freshFile(file);
    try {
      await ownLikeDir(file);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    return new SegmentFile(file, fh);
  }

  /**
   * Appends whole lines (each ending with a newline); `count` of them. The bytes are written
   * behind: the caller must not change a buffer it gave (a fresh one per call).
   */
  async append(text: string | Uint8Array, count: number): Promise<void> {
    if (text.length === 0) return;
    const b = typeof text === 'string' ? Buffer.from(text) : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    this.queued.push(b);
    this.queuedBytes += b.length;
    this.lines += count;
    if (this.queuedBytes >= WRITE_BATCH) await this.flush();
  }

  /** Waits for the write in flight, then starts writing what is queued. */
  private async flush(): Promise<void> {
    if (this.inflight) await this.inflight;
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.inflight = writeAll(this.fh, batch);
    // Seen by the next flush (or finish) that awaits it; never an unhandled rejection meanwhile.
    this.inflight.catch(() => undefined);
  }

  /** fsyncs and closes; a segment that holds no line is removed (BRI would read it as empty anyway). */
  async finish(): Promise<void> {
    try {
      await this.flush();
      if (this.inflight) await this.inflight;
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    if (this.lines === 0) await clearName(this.path);
  }

  /** Closes without keeping anything (a failed build removes its directory). */
  async discard(): Promise<void> {
    this.queued = [];
    await this.inflight?.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }
}

/** writev of every buffer, going on after a short write (writev may write less than asked). */
async function writeAll(fh: fsp.FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    let n = bytesWritten;
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}

/**
 * Starts an empty segment after the last one when that one holds something, as BRI's rotation does
 * (after a snapshot, at a clean shutdown): the next line goes into a segment of its own.
 */
export async function rotateWal(dataDir: string): Promise<void> {
  const segments = await listSegments(dataDir);
  const last = segments[segments.length - 1];
  if (!last || last.size === 0) return;
  const dir = path.join(dataDir, WAL_DIR);
  const next = path.join(dir, segmentName(last.index + 1));
  // Made fresh: a link planted at that name is replaced, never followed (root's seal would create the file it names).
  await (await freshFile(next)).close();
  // Sealed by root (an archive cron job), the segment the application appends to next must still be its own.
  await ownLikeDir(next);
  await fsyncDir(dir);
}
