/**
 * Building a restored data directory beside the target: the archive's
 * snapshot, its WAL segments (cut at the plan's time), then the shipped WAL
 * that continues it, replaying every line into the state the directory must
 * open to; then checking the built directory against that state.
 */
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { decodeSnapshot, isEncryptedSnapshot } from '../../format/snapshot-file.js';
import { applyOperation, emptyState, statesEqual, type DbState } from '../../format/state.js';
import { parseWalLine } from '../../format/wal-line.js';
import { makeDataDirLayout, segmentIndex, SNAPSHOT_FILE } from '../../store/layout.js';
import { writeSnapshot } from '../../store/snapshot-store.js';
import { SegmentFile } from '../../store/wal/segment-file.js';
import { recover } from '../../store/recovery.js';
import { verifyDataDir } from '../../store/verify-data-dir.js';
import { isEncryptedEntry, lineOperation } from '../../store/wal/wal-entry.js';
import { decompressChunks } from '../package/compress.js';
import { readPackage } from '../package/reader.js';
import type { ProgressListener } from '../package/progress.js';
import { pastTarget, splitLineBatches } from '../package/replay.js';
import type { RestorePlan } from './plan.js';
import { appendShipped, type ChainPosition, type ShippedInput, type ShippedOutcome } from '../shipping/restore-shipped.js';

export function restoreError(message: string, hint: string, cause?: unknown): BriError {
  return new BriError(ErrorCodes.RESTORE_ERROR, message, { hint, cause });
}

/** The hooks a build calls (a subset of RestoreHooks). */
export interface BuildHooks {
  afterSnapshotRestore?(info: { path: string; walLine: number; documents: number | null }): void | Promise<void>;
  afterWalSegmentRestore?(info: { segment: string; lines: number; segmentsDone: number; segmentsTotal: number; linesDone: number }): void | Promise<void>;
}

export interface BuildOptions {
  key?: EncryptionKey;
  hooks?: BuildHooks;
  onProgress?: ProgressListener;
  /** Shipped WAL that continues the archive (or, without an archive, the empty state at line 0). */
  shipped?: ShippedInput;
  /** Fail (before anything is swapped in) when a shipment in the middle is damaged or missing. */
  shippedMustBeWhole?: boolean;
}

export interface Built {
  linesRestored: number;
  lastLine: number;
  lastTimestamp: number | null;
  lastPointer: string;
  /** The state the directory must open to (null: it cannot be replayed, e.g. encrypted without the key). */
  expected: DbState | null;
  shipped: ShippedOutcome | null;
  /**
   * The archive's starting snapshot member as stored (zstd of the snapshot text at the plan's start
   * line): a new instance's first archive starts from it (a seed), so nothing is decoded again.
   */
  startSnapshot: Buffer[] | null;
}

/** Writes the data directory for the plan into `dir` (which exists and is empty); `file` is the archive (null: none, shipped WAL only). */
export async function buildDataDir(file: string | null, plan: RestorePlan, dir: string, opts: BuildOptions): Promise<Built> {
  const m = plan.archive?.manifest ?? null;
  await makeDataDirLayout(dir);
  let expected: DbState | null = m === null ? emptyState() : null;
  let decodable = true;
  let stopped = false;
  let linesRestored = 0;
  let lastLine = m?.timeRange.walLines.start ?? 0;
  let lastTimestamp: number | null = null;
  let lastPointer = m?.chain.prevPointer ?? '';
  let segmentsDone = 0;
  let done = 0;
  let startSnapshot: Buffer[] | null = null;
  const segmentsTotal = m?.contents.segments.length ?? 0;
  if (file !== null && m !== null) {
    await readPackage(file, {
      async member(info, data) {
        if (info.kind === 'snapshot') {
          const stored: Buffer[] = [];
          const kept = (async function* () {
            for await (const c of data) {
              stored.push(c);
              yield c;
            }
          })();
          const parts: Buffer[] = [];
          opts.onProgress?.({ operation: 'restore', phase: 'write', doneBytes: 0, totalBytes: plan.bytesToWrite, item: 'snapshot.jss' });
          for await (const c of decompressChunks(kept, info.name, m.contents.snapshot.originalSize)) parts.push(c);
          if (m.timeRange.walLines.start > 0) startSnapshot = stored;
          const text = Buffer.concat(parts).toString('utf8');
          if (isEncryptedSnapshot(text) && !opts.key) {
            if (m.timeRange.walLines.start !== 0) {
              throw new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, 'the archive is encrypted: restoring it needs the key', { hint: 'Set BRI_ENCRYPTION_KEY to the key of the archived database.' });
            }
            decodable = false;
            return; // the empty state at line 0: no snapshot.jss, BRI starts empty and replays the WAL
          }
          const snap = decodeSnapshot(text, opts.key);
          expected = snap.state;
          // Line numbers restart at 1 in the restored wal/: the snapshot is before all of them.
          if (m.timeRange.walLines.start > 0 || snap.state.documents.size > 0 || snap.state.collections.size > 0) {
            await writeSnapshot(dir, { version: 2, walLine: 0, timestamp: snap.timestamp, state: snap.state }, m.contents.snapshot.encrypted ? opts.key : undefined);
            await opts.hooks?.afterSnapshotRestore?.({ path: path.join(dir, SNAPSHOT_FILE), walLine: m.timeRange.walLines.start, documents: snap.state.documents.size });
          }
          return;
        }
        if (info.kind !== 'wal' || stopped) return;
        const seg = info.segment!;
        const out = await SegmentFile.create(dir, seg.segment);
        let lines = 0;
        try {
          let buffer: string[] = [];
          const flush = async () => {
            await out.append(buffer.join(''), buffer.length);
            buffer = [];
            // Within a segment too: the bar moves with the bytes written, not one jump per segment.
            opts.onProgress?.({ operation: 'restore', phase: 'write', doneBytes: done, totalBytes: plan.bytesToWrite, item: `wal/${seg.segment}` });
          };
          let lineNo = seg.firstLine;
          lines: for await (const batch of splitLineBatches(decompressChunks(data, info.name, seg.originalSize))) for (const text of batch) {
            const parsed = parseWalLine(text);
            if (!parsed) throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${info.name}: line ${lineNo} does not parse`, { hint: 'Repair the archive or use another copy.' });
            if (pastTarget(parsed.timestamp, plan.untilTimestamp)) {
              stopped = true;
              break lines;
            }
            if (expected && decodable && !(isEncryptedEntry(parsed.entry) && !opts.key)) applyOperation(expected, lineOperation(parsed, opts.key));
            else decodable = false;
            buffer.push(text + '\n');
            if (buffer.length >= 4096) await flush();
            lines++;
            lastLine = lineNo++;
            lastTimestamp = parsed.timestamp;
            lastPointer = parsed.pointer;
            done += text.length + 1;
          }
          await flush();
          await out.finish();
        } catch (err) {
          await out.discard();
          throw err;
        }
        linesRestored += lines;
        segmentsDone++;
        await opts.hooks?.afterWalSegmentRestore?.({ segment: seg.segment, lines, segmentsDone, segmentsTotal, linesDone: linesRestored });
      },
    });
  }
  let shipped: ShippedOutcome | null = null;
  if (opts.shipped && !stopped) {
    // The shipped WAL goes on in one more segment after the archive's last (segment 0 when there is no archive).
    const lastSeg = m?.contents.segments[m.contents.segments.length - 1];
    const index = lastSeg ? (segmentIndex(lastSeg.segment) ?? 0) + 1 : 0;
    const pos: ChainPosition = { lastLine, lastPointer, lastTimestamp, expected: decodable ? expected : null };
    shipped = await appendShipped(dir, index, pos, opts.shipped, plan.untilTimestamp, opts.key);
    if (shipped.broken && opts.shippedMustBeWhole) {
      throw restoreError(`shipped WAL lines ${shipped.broken.fromLine}..${shipped.broken.toLine} are unusable: ${shipped.broken.reason}`, 'Nothing was swapped in; restore without --on-broken-shipment fail to stop at the last good line, or from another source.');
    }
    linesRestored += shipped.lines;
    ({ lastLine, lastPointer, lastTimestamp } = pos);
    if (pos.expected === null) decodable = false;
  }
  return { linesRestored, lastLine, lastTimestamp, lastPointer, expected: decodable ? expected : null, shipped, startSnapshot };
}

/** Checks the built directory: it loads, the chain verifies, and it holds exactly the replayed state. */
export async function validateBuilt(dir: string, plan: RestorePlan, built: Built, key: EncryptionKey | undefined): Promise<{ documents: number | null; collections: number | null }> {
  const prev = plan.archive?.manifest.chain.prevPointer ?? '';
  const report = await verifyDataDir(dir, key, prev === '' && plan.startLine > 0 ? null : prev);
  if (!report.ok) throw restoreError(`the restored directory fails verification: ${report.problems[0]}`, 'Nothing was swapped in; try another archive or copy.');
  if (report.chain.lines !== built.linesRestored) throw restoreError(`the restored WAL holds ${report.chain.lines} lines, expected ${built.linesRestored}`, 'Nothing was swapped in.');
  if (built.expected === null) return { documents: null, collections: null };
  const rec = await recover(dir, key ? { encryptionKey: key } : {});
  // Compared in place: serialising two copies of a large state would cost more than the state itself.
  if (!statesEqual(rec.state, built.expected)) {
    throw restoreError('the restored directory does not open to the state the archive replays to', 'Nothing was swapped in; this is a bug, please report it.');
  }
  return { documents: rec.state.documents.size, collections: rec.state.collections.size };
}
