/**
 * bri-archive.json held against what it summarises: its `last` against that archive's manifest, its
 * `removedLines` against the WAL still on disk. The file is the data directory's memory of where its
 * archives end; a wrong number in it (edited, or put back from another copy) must be said as the file's
 * fault. Taken at its word, it made a directory that continues its archives look like another history
 * (whose hints, followed, drop the lines no archive holds yet), or lines still in wal/ look gone.
 */
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import type { ArchiveTip } from '../../store/archive-state.js';
import { ARCHIVE_STATE_FILE } from '../../store/layout.js';
import { findLineCarrying, type SegmentSpan } from '../../store/wal/wal-spans.js';

/**
 * Tips read from an archive's own manifest (the state file's record vouched for by it): their numbers are the
 * archive's, so a disagreement with the WAL is the state file's `removedLines`. A WeakSet, so that the tip
 * handed through the caller stays the plain ArchiveTip it stores.
 */
const vouched = new WeakSet<ArchiveTip>();

export function markVouched(tip: ArchiveTip): ArchiveTip {
  vouched.add(tip);
  return tip;
}

/**
 * How the state file's record of its last archive disagrees with that archive's manifest (null: it does not). Said in
 * the archive's warnings (the result, `--json`, the CLI's text), and the manifest is taken.
 */
export function stateDisagreement(recorded: ArchiveTip, manifest: ArchiveTip): string | null {
  const wrong: string[] = [];
  if (recorded.endLine !== manifest.endLine) wrong.push(`last.endLine ${recorded.endLine}, the manifest ${manifest.endLine}`);
  if (recorded.lastPointer !== manifest.lastPointer) wrong.push(`last.lastPointer ${JSON.stringify(recorded.lastPointer)}, the manifest ${JSON.stringify(manifest.lastPointer)}`);
  if (wrong.length === 0) return null;
  return `the data directory's ${ARCHIVE_STATE_FILE} disagrees with the manifest of its last archive ${manifest.archiveId} (${wrong.join('; ')}): the manifest is taken, and the file is rewritten by this archive`;
}

/** The local number of the line on disk that is the tip's last line (its pointer and its time), or null; `untilPastTip`: see findLineCarrying's stopAfter. */
export async function findTipLine(spans: readonly SegmentSpan[], tip: ArchiveTip, untilPastTip: boolean): Promise<{ local: number; segment: string } | null> {
  if (tip.endLine === 0) return null;
  return findLineCarrying(spans, tip.lastPointer, { timestamp: tip.endTimestamp, ...(untilPastTip ? { stopAfter: tip.endTimestamp } : {}) });
}

/**
 * Refuses when the tip's last line is on disk at another number than `removedLines` makes it: the data
 * directory continues its archives, and the state file's numbers are wrong. Nothing is read or changed.
 */
export async function assertStateAgreesWithWal(o: { tip: ArchiveTip; spans: readonly SegmentSpan[]; dataDir: string; removedLines: number }, untilPastTip: boolean): Promise<void> {
  const { tip, removedLines } = o;
  const found = await findTipLine(o.spans, tip, untilPastTip);
  if (found === null || removedLines + found.local === tip.endLine) return;
  // An archive's last line can be no earlier than its number on disk: that is no miscount of removed lines.
  if (vouched.has(tip) && tip.endLine < found.local) return;
  const file = path.join(o.dataDir, ARCHIVE_STATE_FILE);
  const at = `the last line of archive ${tip.archiveId} (pointer ${tip.lastPointer}) is wal/'s line ${found.local} (in ${found.segment})`;
  const keep = `Keep a copy of the file first, and run no \`bri archive cleanup-wal\` before: it removes WAL lines by these numbers. Restoring the data directory or moving ${ARCHIVE_STATE_FILE} out would leave the lines after that one out of the instance's archives.`;
  const details = { file, removedLines, archiveId: tip.archiveId, archiveEnd: tip.endLine, localLine: found.local };
  if (vouched.has(tip)) {
    const right = tip.endLine - found.local;
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `${file} is wrong: it says ${removedLines} lines were removed from the front of wal/, but ${at} and that archive ends at line ${tip.endLine} (its manifest), so ${right} were`, {
      hint: `Set "removedLines": ${right} in ${file}, then archive again. ${keep}`,
      details: { ...details, expectedRemovedLines: right },
    });
  }
  throw new BriError(ErrorCodes.ARCHIVE_ERROR, `${file} disagrees with the WAL: it says archive ${tip.archiveId} ends at line ${tip.endLine} and ${removedLines} lines were removed from the front of wal/, but ${at}, which makes it line ${removedLines + found.local}`, {
    hint: `See where that archive ends (\`bri archive get ${tip.archiveId}\`, its lines a..b): set "last"."endLine" to b and "removedLines" to b − ${found.local} in ${file}, then archive again. ${keep}`,
    details,
  });
}
