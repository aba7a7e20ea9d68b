/**
 * Recovery on open: load the snapshot (else the empty state at line 0), add the
 * cold tier, then replay every WAL line numbered above the snapshot's walLine.
 * A torn last line (no newline, does not parse) is tolerated: it was never acknowledged.
 *
 * The cold tier holds each document as it was when evicted, which may be after the line a point in
 * time asks for: a cold document that a line after that point writes has no known value there
 * (ARCHIVE_ERROR, coldValueUnknown). One no later line writes holds its value there as at the end.
 */
import { segmentsBeingRemoved } from './wal/wal-cleanup.js';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { parseWalLine } from '../format/wal-line.js';
import { applyOperation, emptyState, type DbState } from '../format/state.js';
import type { Operation, OperationAction } from '../format/operation.js';
import { readColdTier } from './cold-tier.js';
import { listSegments, type SegmentInfo } from './layout.js';
import { readSnapshot } from './snapshot-store.js';
import { lineOperation } from './wal/wal-entry.js';
import { readSegmentLines, segmentTail, type RawLine } from './wal/wal-reader.js';

/** What to do with a line above the snapshot that does not parse: BRI skips it; we refuse by default. */
export type InvalidLinePolicy = 'error' | 'skip';

export interface RecoveryOptions {
  encryptionKey?: EncryptionKey;
  invalidLines?: InvalidLinePolicy;
  /** Replay only lines with timestamp <= this (point in time). */
  untilTimestamp?: number;
  /** Replay only lines numbered <= this. */
  untilLine?: number;
  /** Ignore snapshot.jss and replay from line 1 (a WAL complete from its first line): the cold tier, what that snapshot left out, is not read either. */
  ignoreSnapshot?: boolean;
  /** Decode every line, even those of the segments the snapshot holds whole (what their count is checked against). */
  readEveryLine?: boolean;
}

export interface InvalidLine {
  lineNo: number;
  segment: string;
  segmentLine: number;
  reason: string;
}

export interface TornTail {
  segment: string;
  path: string;
  /** Byte offset where the torn line starts: truncate here. */
  offset: number;
  lineNo: number;
}

export interface RecoveryResult {
  state: DbState;
  snapshot: { version: 1 | 2; walLine: number; timestamp: number } | null;
  segments: SegmentInfo[];
  /** Lines on disk as the reader numbers them (a torn tail included). */
  totalLines: number;
  /** Pointer of the last line that parses: the chain continues from it. */
  lastPointer: string;
  lastTimestamp: number | null;
  /** Number of the last line replayed (or the snapshot's walLine). */
  appliedThrough: number;
  replayed: number;
  byOperation: Record<OperationAction, number>;
  skipped: InvalidLine[];
  tornTail: TornTail | null;
  coldDocuments: number;
  /**
   * The last line replayed that writes a document loaded from the cold tier (0: none): from it on the
   * state at a line is exact (the cold files hold the documents as they are at the end).
   */
  coldWrittenThrough: number;
}

/** A bad line of the data directory's WAL, named as `bri data verify` names it (the archive readers say it so too). */
export function walCorrupted(line: Pick<RawLine, 'segment' | 'segmentLine' | 'lineNo'>, reason: string, cause?: unknown, details: Record<string, unknown> = {}): BriError {
  return new BriError(ErrorCodes.WAL_CORRUPTED, `wal/${line.segment} line ${line.segmentLine} (global line ${line.lineNo}): ${reason}`, {
    hint: "Run 'bri data verify' for details; restore from an archive, or open with invalidLines: 'skip' to replay as BRI does.",
    details: { segment: line.segment, segmentLine: line.segmentLine, lineNo: line.lineNo, ...details },
    cause,
  });
}

export async function recover(dataDir: string, options: RecoveryOptions = {}): Promise<RecoveryResult> {
  const key = options.encryptionKey;
  const policy = options.invalidLines ?? 'error';
  const snap = options.ignoreSnapshot ? null : await readSnapshot(dataDir, key);
  const state = snap?.state ?? emptyState();
  const walLine = snap?.walLine ?? 0;
  // Documents the snapshot lacks that are taken from their cold files (key -> file).
  const fromCold = new Map<string, string>();
  for (const doc of options.ignoreSnapshot ? [] : await readColdTier(dataDir, key, snap !== null)) {
    if (!state.documents.has(doc.key)) {
      state.documents.set(doc.key, doc.value);
      fromCold.set(doc.key, doc.file);
    }
  }
  let coldWrittenThrough = 0;
  // A cleanup that committed but did not finish (a crash; the next open finishes it) no longer has these.
  const leaving = await segmentsBeingRemoved(dataDir);
  const segments = (await listSegments(dataDir)).filter((seg) => !leaving.has(seg.name));
  const byOperation: Record<OperationAction, number> = { SET: 0, DELETE: 0, RENAME: 0, SADD: 0, SREM: 0 };
  const skipped: InvalidLine[] = [];
  let totalLines = 0;
  let lastPointer = '';
  let lastTimestamp: number | null = null;
  let replayed = 0;
  let appliedThrough = walLine;
  let stopped = false;
  // An unterminated line that does not parse is torn only if nothing follows it.
  let suspect: { line: RawLine; reason: string } | null = null;

  const writtenCold = (op: Operation): string | undefined =>
    op.action === 'SADD' || op.action === 'SREM' ? undefined : fromCold.has(op.target) ? op.target : op.action === 'RENAME' && fromCold.has(op.oldKey) ? op.oldKey : undefined;
  // The last line past the point asked for that writes a cold document: its value at that point is kept nowhere.
  let coldWrittenAfter: { key: string; lineNo: number } | null = null;
  const noteColdWrite = (lineNo: number, parsed: NonNullable<ReturnType<typeof parseWalLine>>): void => {
    if (fromCold.size === 0) return;
    let op: Operation;
    try {
      op = lineOperation(parsed, key);
    } catch {
      return; // a line that does not decode writes nothing the state could hold
    }
    const written = writtenCold(op);
    if (written !== undefined) coldWrittenAfter = { key: written, lineNo };
  };

  const invalid = (line: RawLine, reason: string, cause?: unknown): void => {
    if (policy === 'error') throw walCorrupted(line, reason, cause);
    skipped.push({ lineNo: line.lineNo, segment: line.segment, segmentLine: line.segmentLine, reason });
  };

  /**
   * The lines in batches. A closed segment the snapshot holds whole replays nothing: its lines are
   * counted and its last line alone decoded (the chain's pointer and the time go on from it).
   */
  async function* batches(): AsyncGenerator<RawLine[]> {
    let next = 1;
    for (const [i, seg] of segments.entries()) {
      if (!options.readEveryLine && i < segments.length - 1 && next <= walLine) {
        const tail = await segmentTail(seg.path);
        const parsed = tail.last === null ? null : parseWalLine(tail.last);
        if (!tail.torn && next + tail.lines - 1 <= walLine && (tail.lines === 0 || parsed !== null)) {
          if (parsed !== null) {
            suspect = null; // a line follows it, and it is at or below the snapshot's line
            totalLines = next + tail.lines - 1;
            lastPointer = parsed.pointer;
            lastTimestamp = parsed.timestamp;
          }
          next += tail.lines;
          continue;
        }
      }
      for await (const batch of readSegmentLines(seg.path, seg.name, next)) {
        next = batch[batch.length - 1]!.lineNo + 1;
        yield batch;
      }
    }
  }

  for await (const batch of batches()) {
    for (const line of batch) {
      if (suspect !== null) {
        if (suspect.line.lineNo > walLine) invalid(suspect.line, suspect.reason);
        suspect = null;
      }
      totalLines = line.lineNo;
      const parsed = parseWalLine(line.text);
      if (parsed === null) {
        if (line.text.length === 0 && line.terminated) continue; // a blank line takes a number, nothing else
        if (!line.terminated) suspect = { line, reason: 'line does not parse' };
        else if (line.lineNo > walLine && !stopped) invalid(line, 'line does not parse');
        continue;
      }
      if (line.lineNo <= walLine || stopped) {
        if (line.terminated) lastPointer = parsed.pointer;
        if (!stopped) lastTimestamp = parsed.timestamp;
        if (stopped && line.lineNo > walLine) noteColdWrite(line.lineNo, parsed);
        continue;
      }
      if (
        (options.untilTimestamp !== undefined && parsed.timestamp > options.untilTimestamp) ||
        (options.untilLine !== undefined && line.lineNo > options.untilLine)
      ) {
        stopped = true;
        lastPointer = parsed.pointer;
        noteColdWrite(line.lineNo, parsed);
        continue;
      }
      let op;
      try {
        op = lineOperation(parsed, key);
      } catch (err) {
        if ((err as BriError).code === ErrorCodes.ENCRYPTION_KEY_MISSING) throw err;
        if (!line.terminated) {
          suspect = { line, reason: (err as Error).message };
          continue;
        }
        invalid(line, (err as Error).message, err);
        continue;
      }
      lastPointer = parsed.pointer;
      if (writtenCold(op) !== undefined) coldWrittenThrough = line.lineNo;
      applyOperation(state, op);
      byOperation[op.action]++;
      replayed++;
      appliedThrough = line.lineNo;
      lastTimestamp = parsed.timestamp;
    }
  }
  let tornTail: TornTail | null = null;
  if (suspect !== null) {
    const seg = segments.find((s) => s.name === suspect!.line.segment)!;
    tornTail = { segment: seg.name, path: seg.path, offset: suspect.line.offset, lineNo: suspect.line.lineNo };
  }
  if (walLine > totalLines) throw snapshotPastWalEnd(walLine, totalLines);
  const unknown = coldWrittenAfter as { key: string; lineNo: number } | null;
  if (unknown !== null) throw coldValueUnknown(unknown.key, fromCold.get(unknown.key)!, unknown.lineNo, options.untilLine ?? appliedThrough);
  return {
    state,
    snapshot: snap ? { version: snap.version, walLine: snap.walLine, timestamp: snap.timestamp } : null,
    segments,
    totalLines,
    lastPointer,
    lastTimestamp,
    appliedThrough,
    replayed,
    byOperation,
    skipped,
    tornTail,
    coldDocuments: fromCold.size,
    coldWrittenThrough,
  };
}

/**
 * The state at a line before a cold document's last write cannot be built from the data directory: its
 * cold file holds a later value (or a document created later). Lines are the directory's own numbers.
 */
export function coldValueUnknown(key: string, file: string, writtenAt: number, cut: number): BriError {
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `the state at line ${cut} cannot be rebuilt from the data directory: ${key} is in the cold tier (${file}) as line ${writtenAt} or a later eviction left it, and its value at line ${cut} is kept nowhere`, {
    hint: `The data directory's state is exact from line ${writtenAt} (the last line writing a cold document) on: start there, or keep the archive directory (its .seeds/) with the data directory.`,
    details: { reason: 'cold-value-unknown', key, file, line: writtenAt, cut },
  });
}

/** Whether an error is coldValueUnknown's (its details: key, file, line, cut). */
export function isColdValueUnknown(err: unknown): err is BriError {
  return isBriError(err, ErrorCodes.ARCHIVE_ERROR) && err.details.reason === 'cold-value-unknown';
}

/**
 * A snapshot past the WAL's end: segments were removed from wal/ (by hand, a bad copy, a lost disk)
 * without lowering walLine. The directory is damaged, not an older copy of itself; the store's open,
 * the offline sealer and archive create all say it in these words.
 */
export function snapshotPastWalEnd(walLine: number, totalLines: number): BriError {
  return new BriError(ErrorCodes.WAL_CORRUPTED, `snapshot.jss says walLine ${walLine} but the WAL holds only ${totalLines} lines: segments were removed without lowering walLine`, {
    hint: 'The data directory is damaged (`bri data verify` shows how): put the missing segments back, or restore it from its archives (`bri restore latest`); replaying now would skip writes.',
    details: { walLine, totalLines },
  });
}
