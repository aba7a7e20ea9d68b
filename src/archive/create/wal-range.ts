/**
 * Streams the WAL lines of an absolute range (start, end] out of a data directory
 * into one zstd member per segment, checking the hash chain on the way, counting
 * operations and, when asked, replaying them into a state (the archive's end state).
 */
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import type { ManifestSegment } from '../../format/manifest.js';
import type { OperationAction } from '../../format/operation.js';
import { applyLiteralEntry, entryAction, type LiteralState } from '../../format/literal-state.js';
import { parseWalLine } from '../../format/wal-line.js';
import { ChainVerifier, type ChainBreak } from '../../store/wal/chain.js';
import { entryPlaintext, isEncryptedEntry } from '../../store/wal/wal-entry.js';
import type { SegmentSpan } from '../../store/wal/wal-spans.js';
import { describeBreak } from '../../store/verify-data-dir.js';
import { compressOffThread } from '../package/compress-worker.js';
import { walMemberName } from '../../format/manifest.js';
import type { AgeRecipients } from '../crypto/age-keys.js';
import { compressSealed } from './encrypt-member.js';
import { lineOffset, readWalChunks, type TornTail } from './wal-chunks.js';
import { timeSlicer } from '../../store/time-slice.js';
import { describeStepsBack, LineClock } from '../../format/line-time.js';

/** Progress is told once this many bytes went by (each read chunk of ~256 KiB: at least every 256 KiB within a segment, as the CLI shows it). */
const PROGRESS_STEP = 128 * 1024;

/** Counts what goes by, for progress; `ended` is called once every chunk was taken (not on a failure: the compressor's promise says it). */
async function* counted(chunks: AsyncIterable<Buffer>, onBytes: ((n: number) => void) | undefined, ended: () => void): AsyncGenerator<Buffer> {
  let untold = 0;
  for await (const c of chunks) {
    untold += c.length;
    if (untold >= PROGRESS_STEP) {
      onBytes?.(untold);
      untold = 0;
    }
    yield c;
  }
    if (untold > 0) onBytes?.(untold);
  ended();
}

/** Text as UTF-8 in memory of its own (Buffer.from may take a small string from Buffer's shared pool, which must never be given up). */
function ownBuffer(text: string): Buffer {
  const b = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  b.write(text, 0, 'utf8');
  return b;
}

export interface WalRangeOptions {
  dataDir: string;
  spans: SegmentSpan[];
  /** absolute = local + removedLines */
  removedLines: number;
  startLine: number;
  endLine: number;
  /** The pointer before line start+1, or null to take the first line on trust. */
  prevPointer: string | null;
  /** The effective time of line `startLine` (null: none, the range starts the log). */
  startTimestamp: number | null;
  key?: EncryptionKey;
  /** Each member is encrypted with age for these recipients once compressed (named `.age`). */
  encryptTo?: AgeRecipients;
  /** When given, every operation is applied to it (needs plaintext or the key), documents as their literals. */
  replayInto?: LiteralState;
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
  /** The first line's own time, and the last line's effective time (format/line-time.ts). */
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** Where the lines' times went back, said (null: they never did). */
  timesWentBack: string | null;
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
  const pending: Array<Promise<StagedSegment>> = [];
  const slicer = timeSlicer();
  const clock = new LineClock(opts.startTimestamp);
  // With a key the thread cannot read the entries (BRI's encryption at rest): every link is checked here.
  const linksOffThread = opts.key === undefined;
  // Every compression and check started: on a failure, each is let finish before the error goes up, so that
  // nothing still writes into the stage directory when the caller removes it.
  const started: Array<Promise<unknown>> = [];
  try {
    for (const seg of opts.spans) {
      if (seg.lastLine <= localStart || seg.firstLine > localEnd || seg.lastLine < seg.firstLine) continue;
      let entries = 0;
      let firstTs: number | null = null;
      let lastTs: number | null = null;
      const backBefore = clock.linesBack;
      let first: number | null = null; // local line numbers may be <= 0 (lines fetched back from shipments)
      let last = -1;
      /**
       * Plaintext lines and no key: the links inside the member are checked by the zstd thread as it compresses
       * (confirmed when it is done, below); here its first line's link, and every line's form. Decided at the first line.
       */
      let offThread = false;
      /** The pointer before the member's first line (null: taken on trust, the range's first line anchors the chain). */
      let before: string | null = null;
      // The data directory's own damage, said as the store's open says it (exit 13), naming the file and the line.
      const broken = (lineNo: number, segmentLine: number, b = verifier.firstBreak, why?: string): BriError => {
        const what = why !== undefined || b === null ? `wal/${seg.name} line ${segmentLine} (global line ${lineNo}): ${why ?? 'damaged'}` : describeBreak(b);
        return new BriError(ErrorCodes.WAL_CORRUPTED, `cannot archive: ${what}`, {
          hint: "Run 'bri data verify' and repair the data directory (or restore it) before archiving; nothing was archived.",
          details: { segment: seg.name, segmentLine, lineNo },
        });
      };
      /** A break found here in a member whose links the thread checks: an earlier link of it may be broken too, and the first one is named. */
      const firstOf = async (found: BriError): Promise<BriError> => {
        if (!offThread) return found;
        const b = await firstBreakIn(seg, before, localStart, localEnd, opts.key);
        return b !== null && b.lineNo < (found.details as { lineNo: number }).lineNo ? broken(b.lineNo, b.segmentLine, b) : found;
      };
      /** One line of the range: its link and form checked, counted, replayed. */
      const take = async (text: string, lineNo: number, segmentLine: number): Promise<void> => {
        // A whole segment may be in memory: the event loop gets a turn between slices of it.
        if ((entries & 255) === 255) {
          const turn = slicer.maybeYield();
          if (turn) await turn;
        }
        const pos = { lineNo, segment: seg.name, segmentLine };
        const parsed = text.length === 0 ? null : parseWalLine(text);
        if (first === null) {
          before = verifier.state.lines === 0 ? opts.prevPointer : verifier.state.lastPointer;
          offThread = linksOffThread && parsed !== null && !isEncryptedEntry(parsed.entry);
        }
        if (!verifier.pushParsed(pos, parsed, text.length === 0, offThread && first !== null)) throw await firstOf(broken(lineNo, segmentLine));
        const line = parsed!;
        firstPointer ??= line.pointer;
        first ??= lineNo;
        last = lineNo;
        firstTs ??= line.timestamp;
        lastTs = line.timestamp;
        clock.time(line.timestamp, lineNo + opts.removedLines);
        entries++;
        if (isEncryptedEntry(line.entry) && opts.key === undefined) opsKnown = false; // nor is the replay complete
        else {
          try {
            const entry = entryPlaintext(line, opts.key);
            counts[opts.replayInto ? applyLiteralEntry(opts.replayInto, entry) : entryAction(entry)]++;
          } catch (err) {
            // An entry whose link holds but which is no operation: named where it is, as the store's replay names it.
            if (!isBriError(err, ErrorCodes.WAL_CORRUPTED)) throw err;
            throw await firstOf(broken(lineNo, segmentLine, null, err.message));
          }
        }
      };
      // The segment's bytes go to the compressor as read (their buffers given up to it); the lines are parsed once, for the chain and the replay.
      async function* chunks(): AsyncGenerator<Buffer> {
        let torn: TornTail | null = null;
        for await (const chunk of readWalChunks(seg.path, seg.firstLine, (t) => (torn = t))) {
          const { lines } = chunk;
          const n = lines.length;
          // Lines of the chunk in the range: [from, to).
          const from = Math.max(0, Math.min(n, localStart + 1 - chunk.firstLineNo));
          const to = Math.max(from, Math.min(n, localEnd + 1 - chunk.firstLineNo));
          for (let i = from; i < to; i++) await take(lines[i]!, chunk.firstLineNo + i, chunk.firstSegmentLine + i);
          if (to === from) continue;
          if (chunk.hasCr) yield ownBuffer(lines.slice(from, to).join('\n') + '\n');
          else if (from === 0 && to === n) yield chunk.bytes;
          else yield chunk.bytes.subarray(lineOffset(chunk.bytes, from), lineOffset(chunk.bytes, to));
        }
        const t = torn as TornTail | null;
        if (t !== null && t.lineNo > localStart && t.lineNo <= localEnd) {
          // A closed segment's last line with no newline is a line when it parses and chains, as the store's open and
          // `bri data verify` take it: archived with its newline. One that does not is refused where it is.
          await take(t.text, t.lineNo, t.segmentLine);
          yield ownBuffer(t.text + '\n');
        }
      }
      // Staged, not kept: the package they go into is fsynced whole. Encrypted as compressed: no plaintext member on disk.
      const stagedPath = path.join(opts.stageDir, `${seg.name}.zst${opts.encryptTo ? '.age' : ''}`);
      // The member is compressed while the next segment is read: its lines are all handed over once `sent` resolves.
      let sent!: () => void;
      const allSent = new Promise<void>((r) => (sent = r));
      // Each chunk's memory is its own (readWalChunks, ownBuffer): given up to the compressor whole, never copied.
      const input = counted(chunks(), opts.onBytes, sent);
      const zopts = { owned: 'whole' as const, links: linksOffThread };
      const job = opts.encryptTo ? compressSealed(input, stagedPath, opts.level, opts.workers, opts.encryptTo, zopts) : compressOffThread(input, stagedPath, opts.level, opts.workers, { sync: false, ...zopts });
      job.catch(() => undefined);
      started.push(job);
      await Promise.race([allSent, job]);
      if (entries === 0) {
        await job;
        continue;
      }
      const back = clock.linesBack - backBefore;
      const meta = {
        file: walMemberName(seg.name, opts.encryptTo !== undefined), segment: seg.name, firstLine: first! + opts.removedLines, lastLine: last + opts.removedLines, entries, firstTimestamp: firstTs, lastTimestamp: lastTs,
        ...(back > 0 ? { timesBack: { lines: back, latestTimestamp: clock.now! } } : {}),
      };
      const claimed = verifier.state.lastPointer;
      const member = { offThread, before, entries, claimed };
      const compressed = job.then(async (r) => {
        // The thread vouches for every link after the first, up to the last pointer this pass read; else the member is read again here, to name the break.
        if (member.offThread && !(r.links && r.links.unvouched < 0 && r.links.lines === member.entries && r.links.lastPointer === member.claimed)) {
          const b = await firstBreakIn(seg, member.before, localStart, localEnd, opts.key);
          if (b !== null) throw broken(b.lineNo, b.segmentLine, b);
        }
        return { ...meta, originalSize: r.originalSize, compressedSize: r.compressedSize, sha256: r.sha256, contentSha256: r.contentSha256, stagedPath };
      });
      compressed.catch(() => undefined);
      started.push(compressed);
      pending.push(compressed);
      // At most two members at the compressor at once (memory: each may be buffered whole there).
      if (pending.length - segments.length >= 2) segments.push(await pending[segments.length]!);
    }
    for (const p of pending.slice(segments.length)) segments.push(await p);
  } catch (err) {
    await Promise.allSettled(started);
    throw err;
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
    lastTimestamp: total > 0 ? clock.now : null,
    timesWentBack: describeStepsBack(clock),
    chainVerified: verifier.state.pointersChecked && !verifier.anchored,
    replayComplete: opts.replayInto !== undefined && opsKnown,
  };
}

/** The first break of the chain in a segment's lines of the range, read again from disk (null: none; the zstd thread could not vouch for a line that is fine here, such as an encrypted entry). */
async function firstBreakIn(seg: SegmentSpan, before: string | null, localStart: number, localEnd: number, key: EncryptionKey | undefined): Promise<ChainBreak | null> {
  const v = new ChainVerifier(before, key);
  const push = (text: string, lineNo: number, segmentLine: number): boolean =>
    lineNo <= localStart || lineNo > localEnd || v.pushParsed({ lineNo, segment: seg.name, segmentLine }, text.length === 0 ? null : parseWalLine(text), text.length === 0);
  let torn: TornTail | null = null;
  for await (const chunk of readWalChunks(seg.path, seg.firstLine, (t) => (torn = t))) {
    for (let i = 0; i < chunk.lines.length; i++) if (!push(chunk.lines[i]!, chunk.firstLineNo + i, chunk.firstSegmentLine + i)) return v.firstBreak;
  }
  // The last line without its newline is archived as a line (stageWalRange): its link is checked as theirs.
  const t = torn as TornTail | null;
  return t !== null && !push(t.text, t.lineNo, t.segmentLine) ? v.firstBreak : null;
}
