/**
 * Which WAL lines may leave the data directory: those in archives of this
 * instance that chain from the first line on disk with no gap and are each
 * stored everywhere (durable locally, and confirmed by size and checksum on
 * every configured remote). The store removes whole segments at or below
 * that line (src/store/wal-cleanup.ts); this module decides the line and,
 * for a stopped database, does the store's part under the lock.
 */
import type { EncryptionKey } from '../format/encryption.js';
import { encodeSnapshot } from '../format/snapshot-file.js';
import type { Manifest } from '../format/manifest.js';
import { listSegments } from '../store/layout.js';
import { recover } from '../store/recovery.js';
import type { CleanupResult } from '../store/store.js';
import { applyWalCleanup, removableSegments, type CleanupStep } from '../store/wal-cleanup.js';

/** Removes segments at or below a local line; the in-process store and the offline cleaner both are one. */
export type SegmentRemover = (safeLocalLine: number, removedLinesBefore: number, onStep?: (step: CleanupStep, item?: string) => void) => Promise<CleanupResult>;

/**
 * The absolute line up to which every line is safe to remove: starting at the first line
 * on disk (`removedLines`), each archive that continues the covered range moves it to its end
 * if it is stored everywhere; the first one that is not (or a gap) stops it.
 */
export async function safeArchivedLine(manifests: ReadonlyArray<Manifest>, instanceId: string, removedLines: number, storedEverywhere: (archiveId: string) => Promise<boolean>): Promise<number> {
  const mine = manifests.filter((m) => m.instanceId === instanceId).sort((a, b) => a.timeRange.walLines.start - b.timeRange.walLines.start);
  let covered = removedLines;
  for (const [i, m] of mine.entries()) {
    const { start, end } = m.timeRange.walLines;
    if (end <= covered) continue;
    // The instance's first archive may start after the first line on disk (a clone whose seed was lost starts at
    // its snapshot): the lines before it are in its starting state, never in any archive as lines.
    if (start > covered && !(i === 0 && m.previousArchiveId === null)) break;
    if (!(await storedEverywhere(m.archiveId))) break;
    covered = end;
  }
  return covered;
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
    return { segments: plan.map((s) => s.name), lines, snapshotLine: walLine };
  };
}
