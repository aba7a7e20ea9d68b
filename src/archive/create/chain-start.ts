/**
 * Where the next archive of an instance starts. Normally where the previous
 * one ended. But the previous one may have been deleted (its lines are then
 * archived again while wal/ still has them), and an instance may have no
 * archive yet while its WAL does not start at line 1 (a clone, a restore to
 * an earlier point, a BRI directory whose first segments are gone): it starts
 * at the earliest line whose state can be built. Lines that fall between two
 * archives and are no longer in wal/ are said, never skipped silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRegularFile } from '../../store/files/regular-file.js';
import { BriError, ErrorCodes, isBriError, shellArg } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import type { Manifest } from '../../format/manifest.js';
import { isEncryptedSnapshot } from '../../format/snapshot-file.js';
import { listSegments, SNAPSHOT_FILE } from '../../store/layout.js';
import { readSnapshot } from '../../store/snapshot-store.js';
import { recover, snapshotPastWalEnd } from '../../store/recovery.js';
import { coldFileOf, coldKeysOnDisk, listColdFiles } from '../../store/cold-tier.js';
import { emptyState } from '../../format/state.js';
import { coldFilesMissing, stateDifferences } from '../../store/verify-data-dir.js';
import { sameDirectory, type ArchiveState, type ArchiveTip } from '../../store/archive-state.js';
import { ownedByAnother } from '../copies/archive-dir-owner.js';
import { listLocalArchives, unmountedArchiveDir } from '../copies/local-catalog.js';
import { readAllCopyRecords } from '../copies/records.js';
import { archiveFileName } from '../package/ids.js';
import { linesAfter } from '../../format/text/line-range.js';
import { seedLines } from './seeds.js';
import { assertStateAgreesWithWal, markVouched, stateDisagreement } from './state-file-check.js';
import { lineAt, type SegmentSpan } from '../../store/wal/wal-spans.js';
import { ChainVerifier, verifyChain } from '../../store/wal/chain.js';
import { readSegmentLines, type RawLine } from '../../store/wal/wal-reader.js';

export interface ChainTip {
  tip: ArchiveTip | null;
  /** The tip's local file, when there is one (to replay when no seed is kept). */
  tipFile?: string;
  /** The archive the state file names as the last one, when no source holds it any more. */
  deleted?: ArchiveTip;
  /** How the state file's record of the last archive disagrees with its manifest (which is taken). */
  disagrees?: string;
}

function tipOf(m: Manifest): ArchiveTip {
  return markVouched({ archiveId: m.archiveId, endLine: m.timeRange.walLines.end, lastPointer: m.chain.lastPointer, endTimestamp: m.timeRange.end.getTime(), sealedAt: m.timeRange.sealedAt.getTime() });
}

/**
 * Where the chain stands: the newest archive of the instance that still exists. The state file's
 * record counts while its archive exists (a local file, or a confirmed copy on a remote); a newer
 * archive on disk wins (a crash between the rename and the state update). When the recorded one is
 * gone, `known` (every source's listing, asked only then) gives the newest that remains; when no source
 * holds it and the archive directory holds nothing of it, the disk is taken as not mounted (ARCHIVE_NOT_FOUND).
 */
export async function chainTip(state: ArchiveState, archiveDir: string, known?: () => Promise<Manifest[]>): Promise<ChainTip> {
  const local = (await listLocalArchives(archiveDir)).filter((a) => a.manifest.instanceId === state.instanceId);
  let tip: ArchiveTip | null = null;
  let tipFile: string | undefined;
  let disagrees: string | null = null;
  const last = state.last;
  const lastLocal = last === null ? undefined : local.find((a) => a.manifest.archiveId === last.archiveId);
  const lastExists = last !== null && (lastLocal !== undefined || (await readAllCopyRecords(archiveDir)).has(last.archiveId));
  if (lastExists) tip = last;
  // The archive itself is here: its manifest says where it ends, not the state file's record of it (a wrong one is said).
  if (last !== null && lastLocal !== undefined) {
    tip = tipOf(lastLocal.manifest);
    tipFile = lastLocal.file;
    disagrees = stateDisagreement(last, tip);
  }
  for (const a of local) {
    if (tip === null || a.manifest.timeRange.walLines.end >= tip.endLine) {
      tip = tipOf(a.manifest);
      tipFile = a.file;
    }
  }
  if (last === null || lastExists || (tip !== null && tip.endLine >= last.endLine)) return { tip, ...(tipFile ? { tipFile } : {}), ...(disagrees ? { disagrees } : {}) };
  let found = false;
  for (const m of known ? await known() : []) {
    if (m.instanceId !== state.instanceId) continue;
    found ||= m.archiveId === last.archiveId;
    if (tip === null || m.timeRange.walLines.end > tip.endLine) {
      tip = tipOf(m);
      tipFile = undefined;
    }
  }
  const unmounted = found ? null : await unmountedArchiveDir(state, archiveDir, () => true);
  if (unmounted) throw unmounted;
  return { tip, ...(tipFile ? { tipFile } : {}), ...(found ? {} : { deleted: last }) };
}

/**
 * The archive the state names as the last one is in no source, and this one holds its lines again (the WAL still
 * has them): said, not taken silently for a first archive. A file of that name in the archive directory that
 * could not be read (damaged beyond repair, not a regular file) is named: it was not deleted.
 */
export function lastArchiveGone(deleted: ArchiveTip, archiveDir: string, startLine: number, endLine: number): string {
  const file = path.join(archiveDir, archiveFileName(deleted.archiveId));
  const why = fs.existsSync(file) ? `cannot be read: its file ${file} is damaged beyond repair, or not a regular file` : 'is in no source (deleted)';
  return `archive ${deleted.archiveId}, the last one this directory made (through line ${deleted.endLine}), ${why}; this archive holds ${linesAfter(startLine, endLine)} again`;
}

/** A directory's real path (links resolved), or the path as given when it cannot be resolved. */
export function realPathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * An archive run into another archive directory than the one the instance's archives are made in (a
 * command line without the database's localDir) would start a second chain of the same instance beside
 * the first. Refused while that directory holds archives of the instance; a directory moved away is not,
 * nor one that became another database's (a directory the previous version let a clone share with its
 * parent goes to the first to archive after the upgrade: the other's chain goes on in one of its own).
 */
export async function assertArchiveDirOf(state: ArchiveState, dataDir: string, archiveDir: string): Promise<void> {
  const recorded = state.archiveDir;
  // One directory at a second path (a bind mount) is that directory, neither another one nor a copy's.
  if (recorded === undefined || sameDirectory(recorded, archiveDir)) return;
  // A copy of the directory (or the directory moved) makes its archives where it is now.
  if (state.archivedFrom !== undefined && !sameDirectory(state.archivedFrom, dataDir)) return;
  if (!(await listLocalArchives(recorded).catch(() => [])).some((a) => a.manifest.instanceId === state.instanceId)) return;
  // Asked at the path it recorded itself at: the owner file names that one, not the path of a bind mount.
  if (await ownedByAnother(recorded, state.archivedFrom ?? dataDir, state.instanceId)) return;
  throw new BriError(ErrorCodes.USAGE, `this data directory's archives are made in ${recorded}, not ${path.resolve(archiveDir)}: an archive here would start a second chain of the same instance`, {
    hint: `Give --archive-dir ${shellArg(recorded)}: \`bri archive create -d ${shellArg(path.resolve(dataDir))} --archive-dir ${shellArg(recorded)}\` (or archive.localDir: ${recorded} in --config); if the archives moved, point at where they are now.`,
    details: { recorded, given: path.resolve(archiveDir) },
  });
}

/** The absolute line of the data directory's snapshot, or null when there is none or it cannot be read. */
async function snapshotLine(dataDir: string, key: EncryptionKey | undefined, removedLines: number): Promise<number | null> {
  const raw = await readRegularFile(path.join(dataDir, SNAPSHOT_FILE), 'utf8').catch((err: unknown) => (err instanceof BriError ? Promise.reject(err) : null));
  if (raw === null || (isEncryptedSnapshot(raw) && key === undefined)) return null;
  const snap = await readSnapshot(dataDir, key).catch(() => null);
  return snap ? snap.walLine + removedLines : null;
}

const NEW_TIMELINE_HINT =
  'It was put back from an older copy: restore it from the archives (`bri restore latest`) to go on from them, or, to keep it as it is, ' +
  'archive it as a new instance (move bri-archive.json out of the data directory, then `bri archive create`).';

/**
 * Whether the data directory continues the chain's tip: its WAL reaches the tip's last line, and holds
 * that very line (its pointer) when the line is still in wal/. A directory put back from an older copy
 * and written to since has a line with that number that is another line: its lines after it are
 * another history, refused before any is read. A WAL short of a snapshot that covers it is damage, not
 * an older copy, and is said as the store's open says it. The tip's own line found on disk at another number
 * than removedLines makes it is bri-archive.json's fault, not the directory's: said so (state-file-check.ts).
 */
export async function assertContinues(o: { tip: ArchiveTip; endLine: number; spans: SegmentSpan[]; dataDir: string; removedLines: number; key?: EncryptionKey }): Promise<void> {
  const { tip, endLine } = o;
  if (tip.endLine > endLine) {
    const snap = await snapshotLine(o.dataDir, o.key, o.removedLines);
    if (snap !== null && snap > endLine) throw snapshotPastWalEnd(snap - o.removedLines, endLine - o.removedLines);
    await assertStateAgreesWithWal(o, false);
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the data directory's WAL ends at line ${endLine}, before the end of its archive ${tip.archiveId} (line ${tip.endLine}): it is not the directory those archives were made from`, {
      hint: NEW_TIMELINE_HINT,
      details: { endLine, archiveEnd: tip.endLine, archiveId: tip.archiveId },
    });
  }
  // The tip's line is out of wal/ (archived, or shipped, then cleaned out), unless removedLines is wrong: then it is still on disk.
  if (tip.endLine <= o.removedLines) return assertStateAgreesWithWal(o, true);
  const line = await lineAt(o.spans, tip.endLine - o.removedLines);
  if (line !== null && line.pointer !== tip.lastPointer) {
    await assertStateAgreesWithWal(o, false);
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the data directory's line ${tip.endLine} is not the line its archive ${tip.archiveId} ends with (pointer ${line.pointer}, the archive's ${tip.lastPointer}): its history left the archives' at or before that line`, {
      hint: NEW_TIMELINE_HINT,
      details: { line: tip.endLine, pointer: line.pointer, archivePointer: tip.lastPointer, archiveId: tip.archiveId },
    });
  }
}

/**
 * The first absolute line at which the data directory's snapshot plus its cold tier is the state: the
 * snapshot's own, or the last line that writes a cold document, if later (cold files hold documents as
 * last evicted, so before that line a cold document's value, or whether it existed, is unknown).
 */
async function snapshotStateExactFrom(dataDir: string, key: EncryptionKey | undefined, removedLines: number, snap: number): Promise<number> {
  if ((await listColdFiles(dataDir)).length === 0) return snap;
  const rec = await recover(dataDir, { ...(key ? { encryptionKey: key } : {}), invalidLines: 'skip' });
  return Math.max(snap, rec.coldWrittenThrough + removedLines);
}

/**
 * Whether the data directory holds nothing: no WAL byte (no wal/ at all, or empty segments), no cold
 * document, and no snapshot or one of the empty state at line 0 (a directory just made, or one BRI opened
 * and never wrote to). Asked before a first archive: the answer is NOTHING_TO_ARCHIVE, as for an empty
 * database, and nothing (bri-archive.json, the archive directory) is written for it. A snapshot that
 * cannot be read here is not taken as empty: the create's own checks say what it is.
 */
export async function holdsNothing(dataDir: string, key: EncryptionKey | undefined): Promise<boolean> {
  if ((await listSegments(dataDir)).some((s) => s.size > 0)) return false;
  if ((await listColdFiles(dataDir)).length > 0) return false;
  const snap = await readSnapshot(dataDir, key).catch(() => undefined);
  return snap === null || (snap !== undefined && snap.walLine === 0 && snap.state.documents.size === 0 && snap.state.collections.size === 0);
}

/**
 * The earliest line from `from` on whose state can be built without the lines before it: a seed
 * kept for the instance, or the data directory's snapshot (from the last line writing a cold document,
 * when that is later). Throws ARCHIVE_ERROR when there is none.
 */
export async function earliestBuildableLine(o: { dataDir: string; archiveDir: string; instanceId: string; removedLines: number; from: number; endLine: number; key?: EncryptionKey }): Promise<number> {
  const candidates = [...(await seedLines(o.archiveDir, o.instanceId))];
  const snap = await snapshotLine(o.dataDir, o.key, o.removedLines);
  if (snap !== null) candidates.push(await snapshotStateExactFrom(o.dataDir, o.key, o.removedLines, snap));
  const usable = candidates.filter((l) => l >= o.from && l <= o.endLine);
  if (usable.length === 0) {
    if (snap !== null && snap > o.endLine) throw snapshotPastWalEnd(snap - o.removedLines, o.endLine - o.removedLines);
    // The hint for what is wrong here: a key only when the snapshot is encrypted and none was given.
    const raw = snap === null ? await readRegularFile(path.join(o.dataDir, SNAPSHOT_FILE), 'utf8').catch(() => null) : null;
    const locked = raw !== null && isEncryptedSnapshot(raw) && o.key === undefined;
    const why = snap !== null ? `the snapshot is at line ${snap}` : raw === null ? 'snapshot.jss is missing' : locked ? 'snapshot.jss is encrypted and no key was given' : 'snapshot.jss cannot be read';
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `cannot find where the archive starts: no state can be built at or after line ${o.from} (${why})`, {
      hint: locked ? 'Set BRI_ENCRYPTION_KEY to the key of this encrypted directory.' : 'The state before the first line in wal/ is in no file here: restore the data directory from an archive (`bri restore latest`).',
      details: { from: o.from },
    });
  }
  return Math.min(...usable);
}

/**
 * Whether the empty state is the state before the WAL's line 1, for a WAL that starts at 000000.wal. It may
 * not be the log from the beginning: its segments removed and the snapshot's walLine lowered (the format
 * allows it), then BRI wrote again from 000000.wal, chained from ''. The snapshot then holds state that the
 * WAL's lines 1..walLine do not replay to, and an archive started from nothing would lose it. Compared as
 * `bri data verify` compares them (keys and set members; documents evicted to cold/ are left out of BRI's
 * snapshots, told by their files' names: a cold file that does not decrypt still says its document was
 * evicted). An encrypted snapshot without the key cannot be read: the WAL is taken as complete.
 *
 * The cold tier is that state too: a document served from its cold file that the whole WAL, replayed from
 * nothing, does not hold (every pre-restart document evicted before such a restart) says the same, and the
 * archive starts from the snapshot plus the cold tier. With no snapshot.jss to start from, that is refused,
 * naming the file: archived from line 1, the restore would lack the document.
 *
 * Such a snapshot holds more than the lines replay to, never less: a replayed document it leaves out with no
 * cold file is a cold file lost, and the WAL whole from line 1 is then the only copy of it (archived from the
 * empty state, nothing is lost). Both at once is refused (ARCHIVE_ERROR naming the missing file): starting
 * from the snapshot would drop that document's lines, which the WAL cleanup would then delete as archived.
 */
export async function snapshotIsWalReplayed(dataDir: string, key: EncryptionKey | undefined): Promise<boolean> {
  const raw = await readRegularFile(path.join(dataDir, SNAPSHOT_FILE), 'utf8').catch((err: unknown) => (err instanceof BriError ? Promise.reject(err) : null));
  if (raw !== null && isEncryptedSnapshot(raw) && key === undefined) return true;
  const snap = raw === null ? null : await readSnapshot(dataDir, key);
  const keyed = key ? { encryptionKey: key } : {};
  const cold = await coldKeysOnDisk(dataDir);
  if (snap === null) {
    const lost = await coldOutsideWal(dataDir, key, [...cold]);
    if (lost.length > 0) throw coldWithoutSnapshot(lost, cold);
    return true;
  }
  const replayed = snap.walLine === 0 ? emptyState() : (await recover(dataDir, { ...keyed, ignoreSnapshot: true, invalidLines: 'skip', untilLine: snap.walLine })).state;
  const { other, missingCold } = stateDifferences(snap.state, replayed, cold);
  // Cold documents neither the snapshot nor the lines under it hold: only a later line or a lost start explains them.
  const unexplained = [...cold].filter((k) => !snap.state.documents.has(k) && !replayed.documents.has(k));
  if (other.length === 0 && (unexplained.length === 0 || (await coldOutsideWal(dataDir, key, unexplained)).length === 0)) return true;
  // A WAL damaged under the snapshot is not one that lost its start: archived from line 1, its first break is refused and named.
  const broken = snap.walLine === 0 ? null : (await verifyChain(dataDir, keyed)).firstBreak;
  if (broken !== null && broken.lineNo <= snap.walLine) return true;
  if (missingCold.length > 0) throw coldTierLost(missingCold, snap.walLine);
  return false;
}

/**
 * Of the cold documents `keys`, the ones the data directory serves (snapshot, cold tier, then the lines after the
 * snapshot) that the whole WAL replayed from nothing does not hold, by key (a RENAME carries a cold document to
 * another key, which is then the one missing). A WAL that cannot be read without the key: none said.
 */
async function coldOutsideWal(dataDir: string, key: EncryptionKey | undefined, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const keyed = key ? { encryptionKey: key } : {};
  try {
    const served = (await recover(dataDir, { ...keyed, invalidLines: 'skip' })).state;
    const whole = (await recover(dataDir, { ...keyed, ignoreSnapshot: true, invalidLines: 'skip' })).state;
    return [...served.documents.keys()].filter((k) => !whole.documents.has(k));
  } catch (err) {
    if (isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING)) return [];
    throw err;
  }
}

function coldWithoutSnapshot(lost: string[], cold: ReadonlySet<string>): BriError {
  // A cold document renamed by a later line is lost under its new key: the file named is the one on disk.
  const keys = [...lost.filter((k) => cold.has(k)), ...lost.filter((k) => !cold.has(k))];
  const first = keys[0]!;
  const where = cold.has(first) ? `${coldFileOf(first)} holds ${first}` : `the cold tier holds ${first} (under an earlier key)`;
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `cannot archive this data directory from line 1: ${where}${keys.length > 1 ? ` (and ${keys.length - 1} more document(s))` : ''}, which no line of wal/ writes, and there is no snapshot.jss to start the archive from (the WAL's first segments removed?); a restore would lack it`, {
    hint: 'Open the database and take a snapshot (db.createSnapshot(), or close it with snapshotOnClose), then archive again: the archive then starts from that snapshot, which holds the cold documents.',
    details: { files: keys.filter((k) => cold.has(k)).map(coldFileOf), keys },
  });
}

function coldTierLost(keys: string[], walLine: number): BriError {
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `cannot tell where this data directory's history starts: ${coldFilesMissing(keys, walLine)}; and snapshot.jss also holds what those lines do not replay to (its first segments removed?)`, {
    hint: `Put ${coldFileOf(keys[0]!)} back from a copy of the data directory, then archive again (\`bri data verify\` lists what is missing); archiving from the snapshot would leave out the WAL lines that are the only copy of ${keys[0]}.`,
    details: { missing: keys.map(coldFileOf), keys, walLine },
  });
}

/**
 * The pointer the line after the tip is chained from. The tip's last pointer, except after a restore that
 * restored no WAL line (an archive of the state alone) left wal/ empty at the tip's line: the next line was
 * then chained from '' (BRI's rule, and the store's: the last line of the highest non-empty segment, else
 * ''), and it continues the instance. Only the WAL's first line on disk, right after the tip, may: a ''
 * link after lines that wal/ holds is a break. A line whose link cannot be checked (encrypted, no key)
 * keeps the tip's pointer.
 */
export async function pointerAfterTip(tip: ArchiveTip, o: { spans: SegmentSpan[]; removedLines: number; key: EncryptionKey | undefined }): Promise<string> {
  if (tip.endLine === 0 || tip.endLine !== o.removedLines || tip.lastPointer === '') return tip.lastPointer;
  const seg = o.spans.find((s) => s.firstLine <= 1 && 1 <= s.lastLine);
  if (!seg) return tip.lastPointer;
  let found: RawLine | undefined;
  for await (const batch of readSegmentLines(seg.path, seg.name, seg.firstLine)) if ((found = batch.find((l) => l.lineNo === 1))) break;
  if (!found) return tip.lastPointer;
  const first = found;
  const linksFrom = (prev: string): boolean => {
    const v = new ChainVerifier(prev, o.key);
    return v.push(first) && v.state.pointersChecked;
  };
  return !linksFrom(tip.lastPointer) && linksFrom('') ? '' : tip.lastPointer;
}
