/**
 * Streams the WAL lines of an absolute range (start, end] out of a data directory
 * into one zstd member per segment, checking the hash chain on the way, counting
 * operations and, when asked, replaying them into a state (the archive's end state).
 */
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import type { ManifestSegment } from '../../format/manifest.js';
import type { OperationAction } from '../../format/operation.js';
import { applyOperation, type DbState } from '../../format/state.js';
import { parseWalLine } from '../../format/wal-line.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import { isEncryptedEntry, lineOperation } from '../../store/wal/wal-entry.js';
import { readSegmentLines } from '../../store/wal/wal-reader.js';
import type { SegmentSpan } from '../../store/wal/wal-spans.js';
import { describeBreak } from '../../store/verify-data-dir.js';
import { compressToFile } from '../package/compress.js';
import { timeSlicer } from '../../store/time-slice.js';

/** WAL text is handed to the compressor (and counted for progress) in chunks of about this many characters. */
const STAGE_CHUNK = 256 * 1024;

export interface WalRangeOptions {
  dataDir: string;
  spans: SegmentSpan[];
  /** absolute = local + removedLines */
  removedLines: number;
  startLine: number;
  endLine: number;
  /** The pointer before line start+1, or null to take the first line on trust. */
  prevPointer: string | null;
  key?: EncryptionKey;
  /** When given, every operation is applied to it (needs plaintext or the key). */
  replayInto?: DbState;
  stageDir: string;
  level: number;
  workers: number;
  onBytes?: (n: number) => void;
}

export interface StagedSegment extends ManifestSegment {
  stagedPath: string;
}

export interface WalRangeResult {
  segments: StagedSegment[];
  entries: number;
  byOperation: Record<OperationAction, number> | null;
  firstPointer: string;
  lastPointer: string;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** False when entries were encrypted and no key was given: format checked, pointers not. */
  chainVerified: boolean;
  /** True when every operation was applied to `replayInto` (false without the key for an encrypted WAL). */
  replayComplete: boolean;
}

export async function stageWalRange(opts: WalRangeOptions): Promise<WalRangeResult> {
  const localStart = opts.startLine - opts.removedLines;
  const localEnd = opts.endLine - opts.removedLines;
  const verifier = new ChainVerifier(opts.prevPointer, opts.key);
  const counts: Record<OperationAction, number> = { SET: 0, DELETE: 0, RENAME: 0, SADD: 0, SREM: 0 };
  let opsKnown = true;
  let firstPointer: string | null = null;
  const segments: StagedSegment[] = [];
  const slicer = timeSlicer();
  for (const seg of opts.spans) {
    if (seg.lastLine <= localStart || seg.firstLine > localEnd || seg.lastLine < seg.firstLine) continue;
    let entries = 0;
    let firstTs: number | null = null;
    let lastTs: number | null = null;
    let first: number | null = null; // local line numbers may be <= 0 (lines fetched back from shipments)
    let last = -1;
    async function* lines(): AsyncGenerator<Buffer> {
      for await (const batch of readSegmentLines(seg.path, seg.name, seg.firstLine)) {
        let out: string[] = [];
        let outChars = 0;
        for (const line of batch) {
          // A whole segment comes as one batch: the event loop gets a turn between slices of it.
          const turn = (entries & 255) === 255 ? slicer.maybeYield() : null;
          // Handed on in chunks of about STAGE_CHUNK, so that progress moves within a segment.
          if (turn || outChars >= STAGE_CHUNK) {
            if (out.length > 0) yield Buffer.from(out.join('\n') + '\n', 'utf8');
            out = [];
            outChars = 0;
            if (turn) await turn;
          }
          if (line.lineNo <= localStart || line.lineNo > localEnd) continue;
          if (!verifier.push(line) || !line.terminated) {
            const b = verifier.firstBreak;
            throw new BriError(ErrorCodes.ARCHIVE_ERROR, `cannot archive: ${b ? describeBreak(b) : `wal/${seg.name} line ${line.segmentLine} is torn`}`, {
              hint: "Run 'bri data verify' and repair the data directory (or restore it) before archiving; nothing was archived.",
              details: { segment: seg.name, lineNo: line.lineNo },
            });
          }
          const parsed = parseWalLine(line.text)!;
          firstPointer ??= parsed.pointer;
          first ??= line.lineNo;
          last = line.lineNo;
          firstTs ??= parsed.timestamp;
          lastTs = parsed.timestamp;
          entries++;
          if (isEncryptedEntry(parsed.entry) && opts.key === undefined) opsKnown = false; // nor is the replay complete
          else {
            const op = lineOperation(parsed, opts.key);
            counts[op.action]++;
            if (opts.replayInto) applyOperation(opts.replayInto, op);
          }
          out.push(line.text);
          outChars += line.text.length + 1;
        }
        if (out.length > 0) yield Buffer.from(out.join('\n') + '\n', 'utf8');
      }
    }
    // Staged, not kept: the package they go into is fsynced whole.
    const staged = await compressToFile(lines(), path.join(opts.stageDir, `${seg.name}.zst`), {
      durable: false,
      level: opts.level,
      workers: opts.workers,
      onBytes: opts.onBytes,
    });
    if (entries === 0) continue;
    segments.push({
      file: `wal/${seg.name}.zst`,
      segment: seg.name,
      firstLine: first! + opts.removedLines,
      lastLine: last + opts.removedLines,
      entries,
      firstTimestamp: firstTs,
      lastTimestamp: lastTs,
      originalSize: staged.originalSize,
      compressedSize: staged.compressedSize,
      sha256: staged.sha256,
      contentSha256: staged.contentSha256,
      stagedPath: staged.path,
    });
  }
  const total = segments.reduce((a, s) => a + s.entries, 0);
  if (total !== opts.endLine - opts.startLine) {
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `expected lines ${opts.startLine + 1}..${opts.endLine} in the WAL, found ${total}`, {
      hint: 'The WAL changed while it was being archived, or segments are missing; nothing was archived.',
    });
  }
  return {
    segments,
    entries: total,
    byOperation: opsKnown ? counts : null,
    firstPointer: firstPointer ?? '',
    lastPointer: verifier.state.lastPointer,
    firstTimestamp: verifier.state.firstTimestamp,
    lastTimestamp: verifier.state.lastTimestamp,
    chainVerified: verifier.state.pointersChecked && !verifier.anchored,
    replayComplete: opts.replayInto !== undefined && opsKnown,
  };
}
