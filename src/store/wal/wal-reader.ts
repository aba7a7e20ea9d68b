/**
 * Streams WAL lines from a data directory with their global line numbers:
 * 1-based positions in the concatenation of all segments, blank and unparsable
 * lines included, as the spec defines them.
 */
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes } from '../../errors.js';
import { listSegments, type SegmentInfo } from '../layout.js';

export interface RawLine {
  /** Global 1-based line number across all segments on disk. */
  lineNo: number;
  segment: string;
  /** 1-based line number inside its segment. */
  segmentLine: number;
  /** Byte offset of the line's first byte inside its segment. */
  offset: number;
  /** The line without its newline (and without a CR before it). */
  text: string;
  /** False for a last line with no newline after it (a torn write). */
  terminated: boolean;
}

const CHUNK = 1 << 20;

/** Yields the lines of one file in batches (one batch per chunk read), bounded memory. */
export async function* readSegmentLines(
  filePath: string,
  segment: string,
  firstLineNo: number,
): AsyncGenerator<RawLine[]> {
  const handle = await fsp.open(filePath, 'r');
  try {
    // The unterminated tail of one read is copied to the front of the buffer and the next read lands after it.
    let buf = Buffer.allocUnsafe(CHUNK);
    let carryLen = 0;
    let carryOffset = 0;
    let position = 0;
    let lineNo = firstLineNo;
    let segmentLine = 1;
    for (;;) {
      if (buf.length - carryLen < CHUNK / 2) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, carryLen);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, carryLen, buf.length - carryLen, position);
      if (bytesRead === 0) break;
      const dataOffset = position - carryLen;
      const end = carryLen + bytesRead;
      position += bytesRead;
      const batch: RawLine[] = [];
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0 || nl >= end) break;
        const stop = nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl;
        batch.push({ lineNo: lineNo++, segment, segmentLine: segmentLine++, offset: dataOffset + start, text: buf.toString('utf8', start, stop), terminated: true });
        start = nl + 1;
      }
      carryLen = end - start;
      carryOffset = dataOffset + start;
      if (carryLen > 0) buf.copy(buf, 0, start, end);
      if (batch.length > 0) yield batch;
    }
    const carry = buf.subarray(0, carryLen);
    if (carry.length > 0) {
      yield [{ lineNo, segment, segmentLine, offset: carryOffset, text: carry.toString('utf8'), terminated: false }];
    }
  } finally {
    await handle.close();
  }
}

export interface ReadWalOptions {
  /** Segments to read (default: all in the data directory). */
  segments?: SegmentInfo[];
}

/** Yields every WAL line of the data directory, in batches, with global numbers. */
export async function* readWal(dataDir: string, options: ReadWalOptions = {}): AsyncGenerator<RawLine[]> {
  const segments = options.segments ?? (await listSegments(dataDir));
  let next = 1;
  for (const seg of segments) {
    for await (const batch of readSegmentLines(seg.path, seg.name, next)) {
      next = batch[batch.length - 1]!.lineNo + 1;
      yield batch;
    }
  }
}

/**
 * Line counts of segments already counted in this process. A closed segment never changes, so
 * (size, mtime, inode) tell a stale entry; without this, every archive counted the lines of the
 * whole WAL again (a profile of 300 archives in a row showed it as the largest cost, growing
 * with the WAL).
 */
const lineCounts = new Map<string, { size: number; mtimeMs: number; ino: number; counted: { lines: number; torn: boolean; size: number } }>();
const LINE_COUNT_CACHE_LIMIT = 100_000;

/** countSegmentLines, from the cache when the file is unchanged since it was counted. */
export async function countSegmentLinesCached(filePath: string): Promise<{ lines: number; torn: boolean; size: number }> {
  const st = await fsp.stat(filePath);
  const hit = lineCounts.get(filePath);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) return hit.counted;
  const counted = await countSegmentLines(filePath);
  // Counted while it grew: not worth keeping (the next call counts again).
  if (counted.size === st.size) {
    if (lineCounts.size >= LINE_COUNT_CACHE_LIMIT) lineCounts.clear();
    lineCounts.set(filePath, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, counted });
  }
  return counted;
}

/** Reads a segment through, counting its newlines: their number, the file's size, and the offsets of the last two (-1: none). */
async function scanNewlines(handle: fsp.FileHandle): Promise<{ newlines: number; size: number; lastNl: number; prevNl: number }> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  let newlines = 0;
  let lastNl = -1;
  let prevNl = -1;
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, CHUNK, size);
    if (bytesRead === 0) break;
    for (let i = buf.indexOf(0x0a, 0); i >= 0 && i < bytesRead; i = buf.indexOf(0x0a, i + 1)) {
      newlines++;
      prevNl = lastNl;
      lastNl = size + i;
    }
    size += bytesRead;
  }
  return { newlines, size, lastNl, prevNl };
}

/** Counts the lines of a segment as the reader numbers them (without decoding text). */
export async function countSegmentLines(filePath: string): Promise<{ lines: number; torn: boolean; size: number }> {
  const handle = await fsp.open(filePath, 'r');
  try {
    const { newlines, size, lastNl } = await scanNewlines(handle);
    const torn = size > lastNl + 1;
    return { lines: newlines + (torn ? 1 : 0), torn, size };
  } finally {
    await handle.close();
  }
}

/**
 * A segment's line count as the reader numbers it, and its last line's text (CR stripped; null for an
 * empty segment), read without decoding the others: what recovery needs of a segment its snapshot
 * holds whole.
 */
export async function segmentTail(filePath: string): Promise<{ lines: number; torn: boolean; last: string | null }> {
  const handle = await fsp.open(filePath, 'r');
  try {
    const { newlines, size, lastNl, prevNl } = await scanNewlines(handle);
    const torn = size > lastNl + 1;
    if (!torn && newlines === 0) return { lines: 0, torn: false, last: null };
    const [from, to] = torn ? [lastNl + 1, size] : [prevNl + 1, lastNl];
    const text = Buffer.allocUnsafe(to - from);
    for (let at = 0; at < text.length; ) {
      const { bytesRead } = await handle.read(text, at, text.length - at, from + at);
      if (bytesRead === 0) {
        throw new BriError(ErrorCodes.IO_ERROR, `${filePath} became shorter while it was read`, {
          hint: 'Another process is changing the WAL: stop it (a data directory has one writer), then open again.',
          details: { path: filePath },
        });
      }
      at += bytesRead;
    }
    const stop = !torn && text.length > 0 && text[text.length - 1] === 0x0d ? text.length - 1 : text.length;
    return { lines: newlines + (torn ? 1 : 0), torn, last: text.toString('utf8', 0, stop) };
  } finally {
    await handle.close();
  }
}
