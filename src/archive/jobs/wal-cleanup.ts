/**
 * Which WAL lines may leave the data directory: those in archives of this
 * instance that chain from the first line on disk with no gap and are each
 * stored everywhere (durable locally, and confirmed by size and checksum on
 * every configured remote). The store removes whole segments at or below
 * that line (src/store/wal-cleanup.ts, src/store/offline.ts); this module
 * decides the line.
 */
import type { Manifest } from '../../format/manifest.js';
export type { SegmentRemover } from '../../store/offline.js';


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
