/**
 * A WAL segment written whole, from the first line (a restore builds one per archived segment,
 * and one for the shipped WAL): created empty under its segment name in wal/, appended to in
 * batches, fsynced on finish, removed when it ends up holding no line.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir } from '../durable-fs.js';
import { listSegments, segmentName, WAL_DIR } from '../layout.js';

export class SegmentFile {
  private lines = 0;

  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
  ) {}

  /** Creates wal/<name> in `dataDir` (a name as the archive recorded it, or a segment index). */
  static async create(dataDir: string, name: string | number): Promise<SegmentFile> {
    const file = path.join(dataDir, WAL_DIR, typeof name === 'number' ? segmentName(name) : name);
    return new SegmentFile(file, await fsp.open(file, 'w', 0o644));
  }

  /** Appends whole lines (each ending with a newline); `count` of them. */
  async append(text: string | Uint8Array, count: number): Promise<void> {
    if (text.length === 0) return;
    if (typeof text === "string") await this.fh.write(text);
    else await this.fh.write(text);
    this.lines += count;
  }

  /** fsyncs and closes; a segment that holds no line is removed (BRI would read it as empty anyway). */
  async finish(): Promise<void> {
    try {
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    if (this.lines === 0) await fsp.rm(this.path, { force: true });
  }

  /** Closes without keeping anything (a failed build removes its directory). */
  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
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
  await (await fsp.open(path.join(dir, segmentName(last.index + 1)), 'a', 0o644)).close();
  await fsyncDir(dir);
}
