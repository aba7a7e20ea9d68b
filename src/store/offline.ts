/**
 * What archiving does to a data directory, the store's part: sealing the WAL at a segment boundary
 * and removing archived segments. In a running database the store does both itself
 * (sealForArchive, removeArchivedSegments); here are the forms for a directory no process has open
 * (the caller holds its lock), as BRI's rotation and our WAL cleanup journal do them.
 */
import type { EncryptionKey } from '../format/encryption.js';
import { encodeSnapshot } from '../format/snapshot-file.js';
import { listSegments } from './layout.js';
import { dropObsoleteCold } from './cold-tier.js';
import { recover, snapshotPastWalEnd } from './recovery.js';
import { peekSnapshotWalLine } from './snapshot-store.js';
import { fixWalTail } from './wal/tail.js';
import { applyWalCleanup, removableSegments, type CleanupResult, type CleanupStep } from './wal/wal-cleanup.js';
import { rotateWal } from './wal/segment-file.js';
import { segmentSpans } from './wal/wal-spans.js';

export interface SealResult {
  /** Local line number the archive ends at: the last line of a closed segment. */
  endLocalLine: number;
  /** The state at that line as snapshot text (walLine = absolute line), when the caller holds it in memory. */
  endSnapshotText?: string | readonly string[];
  /** The instant of the seal: every line after it is stamped later (default: just before the seal was asked for). */
  sealedAt?: number;
  /** Document and set counts of the end state, with endSnapshotText (kept beside the seed: the next archive need not decode it). */
  endCounts?: { documents: number; collections: number };
}

/** Closes the current WAL segment so that the archive ends on a boundary. */
export type Sealer = (removedLines: number) => Promise<SealResult>;

/** Removes segments at or below a local line; the in-process store and the offline cleaner both are one. */
export type SegmentRemover = (safeLocalLine: number, removedLinesBefore: number, onStep?: (step: CleanupStep, item?: string) => void) => Promise<CleanupResult>;

/**
 * Seals a stopped directory: the last line gets its newline (or a torn one is cut), and a new
 * empty segment is created after a non-empty last one, as BRI's rotation does.
 */
export function offlineSealer(dataDir: string, key: EncryptionKey | undefined): Sealer {
  return async () => {
    await fixWalTail(dataDir, key);
    const spans = await segmentSpans(dataDir);
    const endLocalLine = spans[spans.length - 1]?.lastLine ?? 0;
    // Segments gone under the snapshot: the store would refuse to open this directory, so nothing is archived from it (or written to it).
    const walLine = await peekSnapshotWalLine(dataDir);
    if (walLine !== null && walLine > endLocalLine) throw snapshotPastWalEnd(walLine, endLocalLine);
    await rotateWal(dataDir);
    return { endLocalLine };
  };
}

/**
 * The remover for a data directory no process has open (the caller holds its lock): the state
 * at the WAL's end is recovered and written as the new snapshot, so every archived segment can go.
 */
export function offlineRemover(dataDir: string, key: EncryptionKey | undefined): SegmentRemover {
  return async (safeLocalLine, removedLinesBefore, onStep) => {
    const segments = await listSegments(dataDir);
    const last = segments[segments.length - 1];
    // The last segment is where the next writer appends: it stays, as in a running database.
    const plan = last ? await removableSegments(dataDir, safeLocalLine, last.index) : [];
    const lines = plan.reduce((a, s) => a + s.lines, 0);
    const rec = await recover(dataDir, key ? { encryptionKey: key } : {});
    if (plan.length === 0) return { segments: [], lines: 0, snapshotLine: rec.snapshot?.walLine ?? 0 };
    const walLine = rec.totalLines - lines;
    const text = encodeSnapshot({ version: rec.snapshot?.version ?? 2, walLine, timestamp: Date.now(), state: rec.state }, key);
    await applyWalCleanup(dataDir, { segments: plan, lines, removedLinesBefore }, text, onStep);
    await dropObsoleteCold(dataDir, rec.state.documents);
    return { segments: plan.map((s) => s.name), lines, snapshotLine: walLine };
  };
}
