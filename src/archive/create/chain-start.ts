/**
 * Where the next archive of an instance starts. Normally where the previous
 * one ended. But the previous one may have been deleted (its lines are then
 * archived again while wal/ still has them), and an instance may have no
 * archive yet while its WAL does not start at line 1 (a clone, a restore to
 * an earlier point, a BRI directory whose first segments are gone): it starts
 * at the earliest line whose state can be built. Lines that fall between two
 * archives and are no longer in wal/ are said, never skipped silently.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import type { Manifest } from '../../format/manifest.js';
import { isEncryptedSnapshot } from '../../format/snapshot-file.js';
import { SNAPSHOT_FILE } from '../../store/layout.js';
import { readSnapshot } from '../../store/snapshot-store.js';
import { snapshotPastWalEnd } from '../../store/recovery.js';
import type { ArchiveState, ArchiveTip } from '../../store/archive-state.js';
import { listLocalArchives } from '../copies/local-catalog.js';
import { readAllCopyRecords } from '../copies/records.js';
import { seedLines } from './seeds.js';

export interface ChainTip {
  tip: ArchiveTip | null;
  /** The tip's local file, when there is one (to replay when no seed is kept). */
  tipFile?: string;
  /** The archive the state file names as the last one, when no source holds it any more. */
  deleted?: ArchiveTip;
}

function tipOf(m: Manifest): ArchiveTip {
  return { archiveId: m.archiveId, endLine: m.timeRange.walLines.end, lastPointer: m.chain.lastPointer, endTimestamp: m.timeRange.end.getTime() };
}

/**
 * Where the chain stands: the newest archive of the instance that still exists. The state file's
 * record counts while its archive exists (a local file, or a confirmed copy on a remote); a newer
 * archive on disk wins (a crash between the rename and the state update). When the recorded one is
 * gone, `known` (every source's listing, asked only then) gives the newest that remains.
 */
export async function chainTip(state: ArchiveState, archiveDir: string, known?: () => Promise<Manifest[]>): Promise<ChainTip> {
  const local = (await listLocalArchives(archiveDir)).filter((a) => a.manifest.instanceId === state.instanceId);
  let tip: ArchiveTip | null = null;
  let tipFile: string | undefined;
  const last = state.last;
  const lastExists = last !== null && (local.some((a) => a.manifest.archiveId === last.archiveId) || (await readAllCopyRecords(archiveDir)).has(last.archiveId));
  if (lastExists) tip = last;
  for (const a of local) {
    if (tip === null || a.manifest.timeRange.walLines.end >= tip.endLine) {
      tip = tipOf(a.manifest);
      tipFile = a.file;
    }
  }
  if (last === null || lastExists || (tip !== null && tip.endLine >= last.endLine)) return { tip, ...(tipFile ? { tipFile } : {}) };
  let found = false;
  for (const m of known ? await known() : []) {
    if (m.instanceId !== state.instanceId) continue;
    found ||= m.archiveId === last.archiveId;
    if (tip === null || m.timeRange.walLines.end > tip.endLine) {
      tip = tipOf(m);
      tipFile = undefined;
    }
  }
  return { tip, ...(tipFile ? { tipFile } : {}), ...(found ? {} : { deleted: last }) };
}

/** The absolute line of the data directory's snapshot, or null when there is none or it cannot be read. */
async function snapshotLine(dataDir: string, key: EncryptionKey | undefined, removedLines: number): Promise<number | null> {
  const raw = await fsp.readFile(path.join(dataDir, SNAPSHOT_FILE), 'utf8').catch(() => null);
  if (raw === null || (isEncryptedSnapshot(raw) && key === undefined)) return null;
  const snap = await readSnapshot(dataDir, key).catch(() => null);
  return snap ? snap.walLine + removedLines : null;
}

/** A snapshot past the WAL's end (said in the store's local line numbers), or null: read only on the way to an error. */
export async function snapshotPastWal(dataDir: string, key: EncryptionKey | undefined, removedLines: number, endLine: number): Promise<BriError | null> {
  const snap = await snapshotLine(dataDir, key, removedLines);
  return snap !== null && snap > endLine ? snapshotPastWalEnd(snap - removedLines, endLine - removedLines) : null;
}

/**
 * The earliest line from `from` on whose state can be built without the lines before it: a seed
 * kept for the instance, or the data directory's snapshot. Throws ARCHIVE_ERROR when there is none.
 */
export async function earliestBuildableLine(o: { dataDir: string; archiveDir: string; instanceId: string; removedLines: number; from: number; endLine: number; key?: EncryptionKey }): Promise<number> {
  const candidates = [...(await seedLines(o.archiveDir, o.instanceId))];
  const snap = await snapshotLine(o.dataDir, o.key, o.removedLines);
  if (snap !== null) candidates.push(snap);
  const usable = candidates.filter((l) => l >= o.from && l <= o.endLine);
  if (usable.length === 0) {
    if (snap !== null && snap > o.endLine) throw snapshotPastWalEnd(snap - o.removedLines, o.endLine - o.removedLines);
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `cannot find where the archive starts: no state can be built at or after line ${o.from}${snap === null ? ' (snapshot.jss is missing or unreadable)' : ` (the snapshot is at line ${snap})`}`, {
      hint: 'Set BRI_ENCRYPTION_KEY for an encrypted directory, or restore the data directory from an archive.',
      details: { from: o.from },
    });
  }
  return Math.min(...usable);
}
