/**
 * Which WAL lines may leave the data directory: those in archives of this
 * instance that chain from the first line on disk with no gap and are each
 * stored everywhere (durable locally, and confirmed by size and checksum on
 * every configured remote). The store removes whole segments at or below
 * that line (src/store/wal-cleanup.ts, src/store/offline.ts); this module
 * decides the line.
 */
import type { Manifest } from '../../format/manifest.js';
import { linesAfter } from '../../format/text/line-range.js';
export type { SegmentRemover } from '../../store/offline.js';


/** Why the safe line stops where it does (lines are absolute: counted from the instance's first line, not from the first on disk). */
export type CleanupStop =
  | { kind: 'gap'; fromLine: number; toLine: number; after: string | null; before: string; message: string; hint: string }
  | { kind: 'not-stored-everywhere'; archiveId: string; fromLine: number; toLine: number; message: string; hint: string };

export interface SafeLine {
  /** The absolute line up to which every line is safe to remove. */
  line: number;
  /** What stopped it short of the newest archive's end (null: nothing did). */
  stoppedBy: CleanupStop | null;
}

function gapStop(covered: number, m: Manifest, after: string | null): CleanupStop {
  const between = after === null ? `before archive ${m.archiveId}` : `between archives ${after} and ${m.archiveId}`;
  return {
    kind: 'gap',
    fromLine: covered + 1, toLine: m.timeRange.walLines.start, after, before: m.archiveId, message: `absolute lines ${covered + 1}..${m.timeRange.walLines.start} are in no archive known here (${between})`,
    hint: 'Those lines stay until an archive holding them is found: `bri archive list` (with the remotes configured) shows the archives and their gaps.',
  };
}

function notStoredStop(m: Manifest, why: string): CleanupStop {
  const { start, end } = m.timeRange.walLines;
  const message = `archive ${m.archiveId} (absolute numbers: ${linesAfter(start, end)}) is not yet stored everywhere: ${why}`;
  const hint = `\`bri archive upload\` sends it where it is missing and confirms each copy; \`bri archive list\` shows where its copies are.`;
  return { kind: 'not-stored-everywhere', archiveId: m.archiveId, fromLine: start + 1, toLine: end, message, hint };
}

/**
 * The absolute line up to which every line is safe to remove: starting at the first line
 * on disk (`removedLines`), each archive that continues the covered range moves it to its end
 * if it is stored everywhere; a gap, or no such archive that is, stops it (and says so).
 */
export async function safeArchivedLine(manifests: ReadonlyArray<Manifest>, instanceId: string, removedLines: number, notStoredEverywhere: (archiveId: string) => Promise<string | null>): Promise<SafeLine> {
  const mine = [...new Map(manifests.filter((m) => m.instanceId === instanceId).map((m) => [m.archiveId, m])).values()].sort((a, b) => a.timeRange.walLines.start - b.timeRange.walLines.start);
  let covered = removedLines;
  let coveredBy: string | null = null;
  let stoppedBy: CleanupStop | null = null;
  for (const [i, m] of mine.entries()) {
    const { start, end } = m.timeRange.walLines;
    if (end <= covered) continue;
    // The instance's first archive may start after the first line on disk (a clone whose seed was lost starts at
    // its snapshot): the lines before it are in its starting state, never in any archive as lines.
    if (start > covered && !(i === 0 && m.previousArchiveId === null)) {
      // An archive passed over as not stored everywhere is why the range stops short of this one.
      stoppedBy ??= gapStop(covered, m, coveredBy);
      break;
    }
    // Another archive of the same lines (made again after a restore) may be stored everywhere where this one is not.
    const why = await notStoredEverywhere(m.archiveId);
    if (why !== null) {
      stoppedBy ??= notStoredStop(m, why);
      continue;
    }
    covered = end;
    coveredBy = m.archiveId;
    stoppedBy = null;
  }
  return { line: covered, stoppedBy };
}
