/**
 * Reading the WAL's newest lines for shipping, from the files on disk (never
 * from the writer's memory, so shipping cannot slow a write): complete lines
 * from an absolute line on, within one segment at a time (a shipment never
 * crosses a segment boundary, so none straddles an archive's end, which is
 * always one). A cursor remembers where the last read stopped, so each tick
 * reads only what is new.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { parseWalLine } from '../../format/wal-line.js';
import { listSegments, WAL_DIR, type SegmentInfo } from '../../store/layout.js';
import { countSegmentLinesCached } from '../../store/wal/wal-reader.js';
import { WalGate } from './wal-gate.js';

export interface TailRead {
  /** Absolute number of the first line read. */
  firstLine: number;
  texts: string[];
  /** Pointer of the line before the first, when it was on disk (else the caller knows it). */
  prevPointer: string | null;
  segment: string;
}

interface Cursor {
  segment: string;
  index: number;
  offset: number;
  /** Absolute number of the next line at `offset`. */
  nextLine: number;
  /** Pointer of the line before `nextLine` (null: unknown from disk). */
  prevPointer: string | null;
}

function lastPointerOf(text: string): string | null {
  const end = text.endsWith('\n') ? text.length - 1 : text.length;
  const start = text.lastIndexOf('\n', end - 1) + 1;
  return parseWalLine(text.slice(start, end))?.pointer ?? null;
}

export class WalTail {
  private cursor: Cursor | null = null;

  constructor(
    private readonly dataDir: string,
    /** Lines removed from the front of wal/ (absolute = removed + local). */
    private readonly removedLines: () => Promise<number>,
    /** Held while reading: a WAL cleanup never changes the files or the numbering under a read. */
    private readonly gate: WalGate = new WalGate(),
  ) {}

  /** Forgets the position (after a cleanup, or when the caller jumps ahead). */
  reset(): void {
    this.cursor = null;
  }

  /** Finds the segment and byte offset of absolute line `next`; null when it is not on disk (yet, or any more). */
  private async seek(next: number): Promise<Cursor | null> {
    const removed = await this.removedLines();
    let local = next - removed; // local number of the line wanted
    if (local < 1) return null;
    let prevPointer: string | null = null;
    let before: SegmentInfo | null = null; // the last non-empty segment before the one holding the line
    for (const seg of await listSegments(this.dataDir)) {
      const { lines } = await countSegmentLinesCached(seg.path);
      if (local > lines) {
        local -= lines;
        if (lines > 0) before = seg;
        continue;
      }
      if (local === 1 && before) prevPointer = lastPointerOf(await fsp.readFile(before.path, 'utf8'));
      // Walk to the line inside the segment, keeping the pointer of the one before it.
      const text = await fsp.readFile(seg.path, 'utf8');
      let offset = 0;
      for (let i = 1; i < local; i++) {
        const nl = text.indexOf('\n', offset);
        if (nl < 0) return null;
        prevPointer = parseWalLine(text.slice(offset, nl))?.pointer ?? null;
        offset = nl + 1;
      }
      return { segment: seg.name, index: seg.index, offset: Buffer.byteLength(text.slice(0, offset)), nextLine: next, prevPointer };
    }
    return null;
  }

  /**
   * Complete lines from absolute line `from + 1` on, at most `maxBytes`, from one segment.
   * Empty when nothing new is on disk; null when line `from + 1` is no longer on disk.
   */
  read(from: number, maxBytes: number, maxLines = Number.POSITIVE_INFINITY): Promise<TailRead | null | 'nothing'> {
    return this.gate.read(() => this.readNow(from, maxBytes, maxLines));
  }

  private async readNow(from: number, maxBytes: number, maxLines: number): Promise<TailRead | null | 'nothing'> {
    if (!this.cursor || this.cursor.nextLine !== from + 1) this.cursor = await this.seek(from + 1);
    if (!this.cursor) {
      // Not on disk: either not written yet (a future line) or already removed.
      const removed = await this.removedLines();
      return from + 1 <= removed ? null : 'nothing';
    }
    for (;;) {
      const c: Cursor = this.cursor!;
      const file = path.join(this.dataDir, WAL_DIR, c.segment);
      let handle: fsp.FileHandle;
      try {
        handle = await fsp.open(file, 'r');
      } catch {
        // Removed under us (a cleanup of lines already shipped): find the line again where it is now.
        this.cursor = await this.seek(from + 1);
        if (!this.cursor) return from + 1 <= (await this.removedLines()) ? null : 'nothing';
        continue;
      }
      let chunk: Buffer;
      try {
        const size = (await handle.stat()).size;
        const want = Math.min(Math.max(0, size - c.offset), maxBytes);
        chunk = Buffer.alloc(want);
        if (want > 0) await handle.read(chunk, 0, want, c.offset);
      } finally {
        await handle.close();
      }
      const end = chunk.lastIndexOf(0x0a);
      if (end < 0 && chunk.length === maxBytes) {
        maxBytes *= 2; // one line longer than the budget: read more of it
        continue;
      }
      if (end >= 0) {
        let texts = chunk.toString('utf8', 0, end).split('\n');
        if (texts.length > maxLines) texts = texts.slice(0, maxLines);
        const used = texts.reduce((a, t) => a + Buffer.byteLength(t) + 1, 0) - 1;
        const read: TailRead = { firstLine: c.nextLine, texts, prevPointer: c.prevPointer, segment: c.segment };
        this.cursor = { ...c, offset: c.offset + used + 1, nextLine: c.nextLine + texts.length, prevPointer: parseWalLine(texts[texts.length - 1]!)?.pointer ?? null };
        return read;
      }
      // Nothing complete here: move on once a later segment exists (this one is closed).
      const next: SegmentInfo | undefined = (await listSegments(this.dataDir)).find((s) => s.index > c.index);
      if (!next || chunk.length > 0) return 'nothing';
      this.cursor = { segment: next.name, index: next.index, offset: 0, nextLine: c.nextLine, prevPointer: c.prevPointer };
    }
  }
}
