/**
 * How many WAL segments one archive may hold. Every reader refuses a manifest over MAX_MANIFEST_BYTES
 * (package/reader.ts, copies/catalog.ts), and each segment adds its entry and its checksum to the
 * manifest: an archive made past it could never be listed or restored. So an archive stops at the
 * segment boundary where the next segment could pass it; the lines after it stay in wal/ for the next
 * archive, which continues from there.
 */
import { encodeJss } from '../../format/jss.js';
import { walMemberName } from '../../format/manifest.js';
import type { SegmentSpan } from '../../store/wal/wal-spans.js';
import { MAX_MANIFEST_BYTES } from '../package/reader.js';

/** Room for everything of a manifest but its segments (ids, times, counts, name, settings): a few KiB, with a wide margin. */
const REST_OF_MANIFEST = 64 * 1024;

/** What one segment can add to a manifest at most: its entry with every number at its widest, and its line in integrity.members. */
function widestSegmentBytes(): number {
  const n = Number.MIN_SAFE_INTEGER;
  const segment = `${'9'.repeat(12)}.wal`;
  const file = walMemberName(segment, true);
  const sha = 'f'.repeat(64);
  const entry = { file, segment, firstLine: n, lastLine: n, entries: n, firstTimestamp: n, lastTimestamp: n, timesBack: { lines: n, latestTimestamp: n }, originalSize: n, compressedSize: n, sha256: sha, contentSha256: sha };
  // Each with the comma that separates it from the one before.
  return encodeJss(entry).length + 1 + encodeJss({ [file]: sha }).length - 1;
}

const SEGMENT_BYTES = widestSegmentBytes();

export interface ManifestBudget {
  /** The manifest's limit (default the readers' MAX_MANIFEST_BYTES; lower in tests). */
  maxManifestBytes?: number | undefined;
  /** The age recipients the manifest lists (each adds its text). */
  recipients?: readonly string[] | undefined;
}

/** How many segments a manifest may list within the budget (at least one: a segment's entry is far below any limit). */
export function segmentsWithin(budget: ManifestBudget): number {
  const limit = budget.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  const recipients = budget.recipients ? encodeJss([...budget.recipients]).length : 0;
  return Math.max(1, Math.floor((limit - REST_OF_MANIFEST - recipients) / SEGMENT_BYTES));
}

/**
 * The absolute line an archive of lines (startLine, endLine] ends at: endLine, or the last line of the
 * last segment the manifest can list. `spans` in local lines (absolute = local + removedLines).
 */
export function archiveEndWithin(spans: readonly SegmentSpan[], startLine: number, endLine: number, removedLines: number, budget: ManifestBudget): number {
  const [localStart, localEnd] = [startLine - removedLines, endLine - removedLines];
  // The segments the archive holds lines of, as the WAL range reads them (empty ones add no member).
  const held = spans.filter((s) => s.lastLine >= s.firstLine && s.lastLine > localStart && s.firstLine <= localEnd);
  const max = segmentsWithin(budget);
  if (held.length <= max) return endLine;
  return Math.min(endLine, held[max - 1]!.lastLine + removedLines);
}

/** What an archive that stopped at the budget says: where it stopped, and that the next one takes the rest. */
export function linesLeftFor(startLine: number, endLine: number, walEnd: number): string {
  return `this archive holds lines ${startLine + 1}..${endLine}, as many WAL segments as one manifest may list; lines ${endLine + 1}..${walEnd} stay in wal/ for the next archive: run \`bri archive create\` again to archive them`;
}
