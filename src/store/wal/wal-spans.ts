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

