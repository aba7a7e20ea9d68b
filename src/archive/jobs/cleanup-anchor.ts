/**
 * Before the WAL cleanup removes lines, proof that bri-archive.json maps this directory's WAL lines to the
 * archives' lines: its `removedLines` is the only link between a local line and an absolute one, and a value
 * from an older copy (or another database's file) makes lines no archive holds look archived. The proof is
 * the one `archive create` makes (assertContinues in ../create/chain-start.ts), made strict: an archive's
 * last line, read at the local line the state maps it to, carries that archive's last pointer. Pointers
 * chain every line before them, so one matching line proves the mapping of every line on disk.
 */
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { ARCHIVE_STATE_FILE, type ArchiveState } from '../../store/archive-state.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import { readSegmentLines } from '../../store/wal/wal-reader.js';
import { findLineCarrying, lineAt, segmentSpans, type SegmentSpan } from '../../store/wal/wal-spans.js';

/**
 * Throws ARCHIVE_ERROR naming bri-archive.json unless the WAL on disk is where the state says it is, checked
 * at the end of the archive that made `safeLine` safe (else at the newest archive end still on disk). Only when
 * no archive of the instance ends at or after the first line on disk (lines removed once shipped) is there
 * nothing to check a line against.
 */
export async function assertStateMapsWal(dataDir: string, state: ArchiveState, manifests: readonly Manifest[], safeLine: number): Promise<void> {
  const spans = await segmentSpans(dataDir);
  const walEnd = state.removedLines + Math.max(0, spans[spans.length - 1]?.lastLine ?? 0);
  const mine = manifests.filter((m) => m.instanceId === state.instanceId).sort((a, b) => b.timeRange.walLines.end - a.timeRange.walLines.end);
  const endOf = (m: Manifest) => m.timeRange.walLines.end;
  // The newest archive the cleanup relies on, else the newest whose last line the WAL should hold.
  const anchor = mine.find((m) => endOf(m) > state.removedLines && endOf(m) <= safeLine) ?? mine.find((m) => endOf(m) > state.removedLines);
  if (anchor !== undefined) {
    const local = endOf(anchor) - state.removedLines;
    const line = endOf(anchor) <= walEnd ? await lineAt(spans, local) : null;
    if (line?.pointer === anchor.chain.lastPointer) return;
    const why = line !== null ? `that line carries pointer ${line.pointer}, not the archive's ${anchor.chain.lastPointer}` : endOf(anchor) > walEnd ? `wal/ holds only ${walEnd - state.removedLines} lines` : 'that line does not parse';
    throw await notThisWal(dataDir, state, anchor, `archive ${anchor.archiveId} ends at absolute line ${endOf(anchor)}, local line ${local} by it, but ${why}`, spans, mine);
  }
  // Every archive ends before wal/ starts: the one ending right before it must be what the first line on disk continues.
  const before = mine.find((m) => endOf(m) === state.removedLines);
  if (before === undefined || state.removedLines === 0 || spans.length === 0) return;
  const first = await firstLine(spans);
  if (first === null) return;
  // A restore that restored no WAL line left wal/ to be chained from '' (as pointerAfterTip in ../create/chain-start.ts
  // takes it). An encrypted line with no key cannot be checked (the cleanup is given none): it is not refused.
  const linkFrom = (prev: string) => {
    const v = new ChainVerifier(prev);
    const ok = v.push(first);
    return { ok, checked: v.state.pointersChecked };
  };
  const fromTip = linkFrom(before.chain.lastPointer);
  if (!fromTip.checked || fromTip.ok || linkFrom('').ok) return;
  throw await notThisWal(dataDir, state, before, `archive ${before.archiveId} ends at absolute line ${state.removedLines}, the line before the first in wal/ by it, but the first line in wal/ does not continue it`, spans, mine);
}

async function firstLine(spans: readonly SegmentSpan[]) {
  const seg = spans.find((s) => s.firstLine <= 1 && 1 <= s.lastLine);
  if (!seg) return null;
  for await (const batch of readSegmentLines(seg.path, seg.name, seg.firstLine)) {
    const found = batch.find((l) => l.lineNo === 1);
    if (found) return found;
  }
  return null;
}

/**
 * The removedLines the WAL on disk has, told by the newest archive it still shows: its last line in wal/ (carrying
 * its last pointer), or its last line just removed (the first line on disk continues it). Null when none does.
 */
async function removedLinesFound(spans: readonly SegmentSpan[], mine: readonly Manifest[]): Promise<number | null> {
  const first = await firstLine(spans);
  for (const m of mine) {
    const at = (await findLineCarrying(spans, m.chain.lastPointer))?.local ?? null;
    if (at !== null && m.timeRange.walLines.end >= at) return m.timeRange.walLines.end - at;
    const v = new ChainVerifier(m.chain.lastPointer);
    if (first !== null && v.push(first) && v.state.pointersChecked) return m.timeRange.walLines.end;
  }
  return null;
}

async function notThisWal(dataDir: string, state: ArchiveState, anchor: Manifest, why: string, spans: readonly SegmentSpan[], mine: readonly Manifest[]): Promise<BriError> {
  const file = path.join(dataDir, ARCHIVE_STATE_FILE);
  const right = await removedLinesFound(spans, mine);
  const fix =
    right !== null
      ? `The WAL on disk continues this instance's archives after ${right} removed lines: set "removedLines" to ${right} in ${file} (its other fields as they are), then run the command again.`
      : `No line in wal/ carries that archive's last pointer: the file may be another database's. Give this directory its own ${ARCHIVE_STATE_FILE} (or move it out: the next \`bri archive create\` then starts a new instance from the data directory).`;
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `${ARCHIVE_STATE_FILE} in ${dataDir} does not match the data directory's WAL (it says ${state.removedLines} lines were removed from wal/): ${why}; no WAL line was removed`, {
    hint: `It was put back from an older copy, or taken from another data directory: the WAL cleanup would have removed lines that no archive holds. ${fix} Never put back an older copy of ${ARCHIVE_STATE_FILE}.`,
    details: { file, removedLines: state.removedLines, archiveId: anchor.archiveId, archiveEnd: anchor.timeRange.walLines.end, ...(right !== null ? { removedLinesFound: right } : {}) },
  });
}
