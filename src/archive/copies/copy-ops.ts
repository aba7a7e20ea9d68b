/**
 * What several commands do to one copy of an archive: remove it (delete,
 * prune), put a fetched copy in place durably (download), verify a remote
 * copy through a temporary download (archive verify, restore verify).
 */
import * as fsp from 'node:fs/promises';
import { asBriError, BriError, ErrorCodes, shellArg } from '../../errors.js';
import * as path from 'node:path';
import { commitFile, fsyncDir, makeDirs } from '../../store/durable-fs.js';
import { readAllCopyRecords, removeCopyRecord } from './records.js';
import { someCopyWhole } from './whole-copy.js';
import { fetchGoodCopy, pinned, type FetchedCopy, type FetchOptions, type RecoveryDamage, type SourceProblem } from './fetch.js';
import { scratchPath } from '../package/scratch.js';
import type { ArchiveCopy, CatalogArchive, SourceFailure } from './catalog.js';
import { archiveObjectKey, LOCAL_SOURCE, type ArchiveSources } from './sources.js';
import { verifyArchive, type VerifyOptions, type VerifyReport } from '../package/verify.js';
import { linesAfter } from '../../format/text/line-range.js';

export interface DeletedCopies {
  archiveId: string;
  deleted: Array<{ source: string; location: string }>;
  /** What the delete leaves behind that a person should know (lines in no archive, where WAL cleanup stops). */
  warnings?: string[];
}

export interface DownloadedArchive {
  archiveId: string;
  file: string;
  bytes: number;
  source: string;
  skipped: SourceProblem[];
  repaired: { damagedBlocks: number; repairedBlocks: number } | null;
  /** The source copy's recovery data was damaged (its data intact): the file written has it written again. */
  recoveryDamaged: RecoveryDamage | null;
}

/** Removes one copy: the local file (and its directory entry, durably), or the remote object and our record of it. */
export async function removeCopy(copy: ArchiveCopy, archiveId: string, sources: ArchiveSources, archiveDir: string): Promise<void> {
  if (copy.source === LOCAL_SOURCE) {
    // unlink, not rm: rm answers a refused unlink (EPERM, an immutable file) with rmdir's ENOTDIR, and the hint misleads.
    await fsp.unlink(copy.file!).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await fsyncDir(path.dirname(copy.file!));
    return;
  }
  // The record goes first: a kill between the two leaves an object the listing shows (and a rerun deletes),
  // never a record of a copy that is gone (which would count as a copy for WAL cleanup and the chain).
  await removeCopyRecord(archiveDir, archiveId, copy.source);
  await sources.remote(copy.source)!.store.delete(archiveObjectKey(archiveId));
}

/**
 * Removes each copy in turn; one that fails does not stop the others (each is a copy of its own, and the caller
 * asked them all gone). When one failed, the error says what was deleted and what was not (details: `deleted`,
 * `notDeleted`): a copy already gone must not read as "nothing happened". A lone failure is thrown as it is.
 */
export async function removeCopies(doomed: readonly ArchiveCopy[], archiveId: string, sources: ArchiveSources, archiveDir: string): Promise<DeletedCopies['deleted']> {
  const deleted: DeletedCopies['deleted'] = [];
  const failed: Array<{ copy: ArchiveCopy; error: BriError }> = [];
  for (const copy of doomed) {
    try {
      await removeCopy(copy, archiveId, sources, archiveDir);
      deleted.push({ source: copy.source, location: copy.location });
    } catch (err) {
      if (doomed.length === 1) throw err;
      failed.push({ copy, error: asBriError(err, `deleting ${copy.source}'s copy of archive ${archiveId}`, copy.file) });
    }
  }
  if (failed.length > 0) throw partlyDeleted(archiveId, deleted, failed);
  return deleted;
}

function partlyDeleted(id: string, deleted: DeletedCopies['deleted'], failed: ReadonlyArray<{ copy: ArchiveCopy; error: BriError }>): BriError {
  const first = failed[0]!.error;
  const names = failed.map((f) => f.copy.source).join(', ');
  const done = deleted.length > 0 ? `deleted ${deleted.map((d) => `${d.source} (${d.location})`).join(', ')}; ` : '';
  return new BriError(first.code, `archive ${id} was ${deleted.length > 0 ? 'partly' : 'not'} deleted: ${done}not deleted ${failed.map((f) => `${f.copy.source} (${f.copy.location}): ${f.error.message}`).join('; ')}`, {
    hint: `${first.hint ? `${first.hint} ` : ''}${names} still ${failed.length > 1 ? 'hold their copies' : 'holds its copy'}: \`bri archive delete ${id} --source ${failed[0]!.copy.source}\` deletes it once that works${deleted.length > 0 ? ' (--force if it is then the last copy of lines no longer in wal/)' : ''}.`,
    details: { archiveId: id, deleted, notDeleted: failed.map((f) => ({ source: f.copy.source, location: f.copy.location, code: f.error.code, message: f.error.message })) },
    cause: first,
  });
}

/** Puts a fetched copy at `target` (scratch file beside it, fsync, rename, directory fsync) and removes the fetch's scratch files. */
export async function placeFetched(got: FetchedCopy, target: string): Promise<void> {
  const tmp = scratchPath(path.dirname(target), `placing-${path.basename(target)}`);
  try {
    // A download or a repair is moved into place; a local copy (read through a link to it) is copied: never the archive's own file.
    if (got.temporary.includes(got.file) && (got.source !== LOCAL_SOURCE || got.repaired !== null)) await fsp.rename(got.file, tmp).catch(() => fsp.copyFile(got.file, tmp, fsp.constants.COPYFILE_EXCL));
    else await fsp.copyFile(got.file, tmp, fsp.constants.COPYFILE_EXCL);
    await commitFile(tmp, target);
  } finally {
    await fsp.rm(tmp, { force: true });
    await Promise.all(got.temporary.map((f) => fsp.rm(f, { force: true })));
  }
}

/**
 * A structure that does not read (a manifest that is no JSS) in bytes the archive's own PAR2 data finds
 * damaged is damage, not a file that is no archive: ARCHIVE_CORRUPTED (exit 21 beyond repair), as repair
 * and restore say of that file, not ARCHIVE_INVALID (22).
 */
export function asDamage(report: VerifyReport): VerifyReport {
  const damaged = report.recovery?.present === true && report.recovery.damagedBlocks > 0;
  if (!damaged || report.error?.code !== ErrorCodes.ARCHIVE_INVALID) return report;
  return { ...report, error: { ...report.error, code: ErrorCodes.ARCHIVE_CORRUPTED } };
}

/** Verifies a local archive file through a link of this run's own: a prune removing the file meanwhile leaves the reading whole. */
export async function verifyLocalCopy(file: string, verify: VerifyOptions): Promise<VerifyReport> {
  const made: string[] = [];
  const read = await pinned(file, path.dirname(file), path.basename(file), made).catch(() => file);
  try {
    return { ...asDamage(await verifyArchive(read, { name: file, ...verify })), file };
  } finally {
    await Promise.all(made.map((f) => fsp.rm(f, { force: true })));
  }
}

/** A copy verified for archive `asked` must hold it: a whole archive under another's id is not the one asked for (a restore refuses it). */
export function heldAs(asked: string, location: string, report: VerifyReport): VerifyReport {
  if (report.archiveId === null || report.archiveId === asked) return report;
  return { ...report, ok: false, problems: [...report.problems, `${location} holds archive ${report.archiveId}, not ${asked}`] };
}

/** Downloads the first copy that can be fetched (unverified), verifies it, and reports it under the copy's location. */
export async function verifyRemoteCopy(entry: CatalogArchive, fetch: Omit<FetchOptions, 'verify'>, verify: VerifyOptions): Promise<VerifyReport> {
  // The copy as it is stored: a damaged one is verified too (what is wrong, whether repair mends it), not refused.
  const got = await fetchGoodCopy(entry, { ...fetch, verify: false, asStored: true, pin: true });
  // Its problems name the copy, not the scratch download read.
  const location = entry.copies.find((c) => c.source === got.source)!.location;
  try {
    return { ...heldAs(entry.manifest.archiveId, location, asDamage(await verifyArchive(got.file, { ...verify, name: location }))), file: location };
  } finally {
    await Promise.all(got.temporary.map((f) => fsp.rm(f, { force: true })));
  }
}

/** A verified (or repaired) copy of `entry` at `target`, from the first source in `fetch.order` that has a good one. */
export async function downloadTo(entry: CatalogArchive, target: string, fetch: FetchOptions): Promise<DownloadedArchive> {
  await makeDirs(path.dirname(target));
  const got = await fetchGoodCopy(entry, { ...fetch, pin: true });
  await placeFetched(got, target);
  return {
    archiveId: entry.manifest.archiveId,
    file: target,
    bytes: (await fsp.stat(target)).size,
    source: got.source,
    skipped: got.skipped,
    repaired: got.repaired,
    recoveryDamaged: got.recoveryDamaged,
  };
}

/**
 * Deleting a permanent archive, or the last copy of lines wal/ no longer holds, loses what no
 * later step can give back: it takes `force`. (The last copy of lines still in wal/ may go:
 * the next archive holds them again; not when a later archive starts after them: that leaves a gap
 * no archive fills, where WAL cleanup stops.) A copy that stays counts only when it is whole: the local one
 * read and hashed, a remote one asked (its manifest reading is not enough: its members may have rotted).
 * Answers the warnings of a delete that goes ahead (with `force` too): the gap it leaves.
 */
export async function refuseLoss(entry: CatalogArchive, doomed: CatalogArchive['copies'], state: { instanceId: string; removedLines: number } | null, where: { sources: ArchiveSources; archiveDir: string; unreachable?: readonly SourceFailure[]; archives?: readonly CatalogArchive[]; force?: boolean }): Promise<string[]> {
  const m = entry.manifest;
  if (m.permanent && !where.force) {
    throw new BriError(ErrorCodes.USAGE, `archive ${m.archiveId} is permanent`, { hint: 'Pass --force (force: true) to delete it anyway.', details: { archiveId: m.archiveId } });
  }
  const inWal = state?.instanceId === m.instanceId && m.timeRange.walLines.start >= state.removedLines;
  // Lines still in wal/ go into the next archive again, unless a later archive already starts after them (RETAIN 2).
  const later = inWal ? where.archives?.find((a) => a.manifest.instanceId === m.instanceId && a.manifest.timeRange.walLines.start >= m.timeRange.walLines.end && a.manifest.timeRange.walLines.end > m.timeRange.walLines.end) : undefined;
  if ((inWal && !later) || (where.force && !later)) return [];
  const gone = new Set(doomed.map((c) => c.identity ?? `${c.source}\n${c.location}`));
  const remaining = entry.copies.filter((c) => !doomed.includes(c) && !c.damaged && !gone.has(c.identity ?? `${c.source}\n${c.location}`));
  const records = (await readAllCopyRecords(where.archiveDir)).get(m.archiveId) ?? [];
  if (remaining.length > 0 && (await someCopyWhole(remaining, entry.copies, m.archiveId, where.sources, records))) return [];
  // The lines stay in wal/ (nothing is lost yet), but in no archive: said, with what it stops, rather than refused.
  if (later) return [gapLeft(m, later.manifest.archiveId)];
  const down = (where.unreachable ?? []).filter((u) => !doomed.some((c) => c.source === u.source));
  // A source that did not answer may hold another copy: "the only copy" would be a guess, and "keep another copy first" the wrong advice.
  if (down.length > 0) throw otherCopyUnknown(m, down);
  const why =
    remaining.length > 0 ? `no other copy of archive ${m.archiveId} is whole (${remaining.map((c) => c.source).join(', ')}: read, and damaged or not the archive)`
    : doomed.length > 1 ? `this deletes every copy of archive ${m.archiveId} (${doomed.map((c) => c.source).join(', ')})`
    : `this is the only copy of archive ${m.archiveId}`;
  throw new BriError(ErrorCodes.USAGE, `${why}, and ${notInWal(m)}: they would be lost`, {
    hint:
      remaining.length > 0 ? `${mendFirst(m.archiveId, remaining, where.archiveDir)}, or pass --force to delete it anyway.`
      : doomed.length > 1 ? `Pass --force (force: true) to delete them all anyway, or delete one source's copy only (--source).`
      : 'Pass --force (force: true) to delete it anyway, or keep another copy first (`bri archive upload`).',
    details: { archiveId: m.archiveId },
  });
}

/** What makes a whole copy stay before a delete: the local copy repaired in place, else one fetched (and repaired) into the archive directory. */
function mendFirst(id: string, remaining: readonly ArchiveCopy[], archiveDir: string): string {
  if (remaining.some((c) => c.source === LOCAL_SOURCE)) return `Repair the local copy first (\`bri archive repair ${id} --in-place\`, or download a whole one over it)`;
  const from = remaining[0]!.source;
  return `Put a whole copy in the archive directory first (\`bri archive download ${id} ${shellArg(path.join(archiveDir, `${id}.bri`))} --source ${from}\` repairs ${from}'s on the way)`;
}

/** Deleting the last copy of lines a later archive does not hold: no archive has them now, and WAL cleanup stops before them. */
function gapLeft(m: CatalogArchive['manifest'], laterId: string): string {
  const { start, end } = m.timeRange.walLines;
  return `${linesAfter(start, end)} of archive ${m.archiveId} ${end > start ? 'are' : 'is'} now in no archive (archive ${laterId} starts after them), only in the data directory's wal/: \`bri archive create\` cannot archive them again, and WAL cleanup stops at line ${start} until a copy of ${m.archiveId} is put back in the archive directory (keep one next time: delete one source's copy only, with --source)`;
}

/** What an archive holds that wal/ no longer has: its lines, or the state it holds. */
function notInWal(m: CatalogArchive['manifest']): string {
  const { start, end } = m.timeRange.walLines;
  return `${linesAfter(start, end)} ${end > start ? 'are' : 'is'} no longer in the data directory's wal/`;
}

function otherCopyUnknown(m: CatalogArchive['manifest'], down: readonly SourceFailure[]): BriError {
  const names = down.map((u) => u.source).join(', ');
  return new BriError(ErrorCodes.REMOTE_ERROR, `no other copy of archive ${m.archiveId} can be confirmed: ${names} could not be reached (${down[0]!.error.message}), and ${notInWal(m)}: if ${names} holds no copy they would be lost`, {
    hint: `Try again when ${names} answers (\`bri archive list\` shows where the copies are), or pass --force (force: true) to delete it anyway.`,
    details: { archiveId: m.archiveId, unreachable: down.map((u) => ({ source: u.source, code: u.error.code })) },
    cause: down[0]!.error,
  });
}

/**
 * A delete from every source (or from sources `names` lists) while one of them cannot be listed: its copy, if it has one,
 * would stay and come back in every listing, the archive "deleted". Nothing is deleted: REMOTE_ERROR naming the source.
 */
export function refuseUnreachableDelete(id: string, names: readonly string[], unreachable: readonly SourceFailure[]): void {
  const down = unreachable.filter((u) => names.includes(u.source));
  if (down.length === 0) return;
  const list = down.map((u) => u.source).join(', ');
  throw new BriError(ErrorCodes.REMOTE_ERROR, `archive ${id} was not deleted: ${list} could not be reached (${down[0]!.error.message}), so its copy there (if any) cannot be deleted; nothing was deleted`, {
    hint: `Try again when ${list} answers, or delete the copies that can be reached, one source at a time (--source <name>): ${list}'s copy then stays.`,
    details: { archiveId: id, notDeleted: down.map((u) => ({ source: u.source, code: u.error.code })) },
    cause: down[0]!.error,
  });
}
