/**
 * Where each WAL line is: every segment with the local line numbers it holds (a fast newline
 * count, no decoding), and one line read by its number. Line numbers are local (from the first
 * segment on disk, as BRI counts them).
 */
import { parseWalLine } from '../../format/wal-line.js';
import { listSegments, type SegmentInfo } from '../layout.js';
import { countSegmentLinesCached, readSegmentLines } from './wal-reader.js';

export interface SegmentSpan extends SegmentInfo {
  /** Local line numbers held by the segment (last < first when empty). */
  firstLine: number;
  lastLine: number;
}

/** Every segment with the local line numbers it holds (a fast newline count, no decoding). */
export async function segmentSpans(dataDir: string): Promise<SegmentSpan[]> {
  const out: SegmentSpan[] = [];
  let next = 1;
  for (const seg of await listSegments(dataDir)) {
    const { lines } = await countSegmentLinesCached(seg.path);
    out.push({ ...seg, firstLine: next, lastLine: next + lines - 1 });
    next += lines;
  }
  return out;
}

/** The line at a local number, read from its segment (null when not on disk). */
export async function lineAt(spans: SegmentSpan[], local: number): Promise<{ pointer: string; timestamp: number } | null> {
  const seg = spans.find((s) => s.firstLine <= local && local <= s.lastLine);
  if (!seg) return null;
  for await (const batch of readSegmentLines(seg.path, seg.name, seg.firstLine)) {
    const line = batch.find((l) => l.lineNo === local);
    if (line) {
      const parsed = parseWalLine(line.text);
      return parsed ? { pointer: parsed.pointer, timestamp: parsed.timestamp } : null;
    }
  }
  return null;
}


/**
 * The first line on disk carrying `pointer` (and, when given, written at `timestamp`), with its local number
 * and segment, or null. `stopAfter`: the scan ends at the first line written after that time (lines after a
 * line are written after it), so looking for a line that was cleaned out of wal/ reads one line.
 */
export async function findLineCarrying(spans: readonly SegmentSpan[], pointer: string, opts: { timestamp?: number; stopAfter?: number } = {}): Promise<{ local: number; segment: string } | null> {
  for (const seg of spans) {
    if (seg.lastLine < seg.firstLine) continue;
    for await (const batch of readSegmentLines(seg.path, seg.name, seg.firstLine)) {
      for (const line of batch) {
        const parsed = parseWalLine(line.text);
        if (parsed === null) continue;
        if (parsed.pointer === pointer && (opts.timestamp === undefined || parsed.timestamp === opts.timestamp)) return { local: line.lineNo, segment: seg.name };
        if (opts.stopAfter !== undefined && parsed.timestamp > opts.stopAfter) return null;
      }
    }
  }
  return null;
}
