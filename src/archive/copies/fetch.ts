/**
 * Getting a good copy of an archive: the sources are tried in priority order;
 * a copy that is missing, cannot be fetched (the source is down), holds
 * another archive, or fails its checksums beyond PAR2 repair is skipped with
 * the reason, and the next source is tried. A copy whose data is intact but
 * whose recovery data is damaged is used as it is, with a warning saying how
 * to fix it. A key that does not open intact data is the caller's error, not
 * the copy's: it stops the search (every copy would say the same). Downloads
 * and repaired copies are scratch files beside where the copy is needed
 * (scratch.ts), hashed on the way, that the caller removes once done.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError, typedIoError, type ErrorCode } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { isRecordedHere, readCopyRecord } from './records.js';
import { readManifest } from '../package/reader.js';
import type { ProgressListener } from '../package/progress.js';
import type { RepairedCopy } from '../package/repairer.js';
import { existingDir, scratchPath, sweepScratch } from '../package/scratch.js';
import type { ArchiveCopy, CatalogArchive, SourceFailure } from './catalog.js';
import { LOCAL_SOURCE, type ArchiveSources, type RemoteSource } from './sources.js';
import { verifyArchive } from '../package/verify.js';
import { downloadRanged, isColdObject } from '../../remote/index.js';

/** Why a source was passed over. */
export interface SourceProblem {
  source: string;
  reason: string;
  code?: string;
  /** What to do about it, when the failure says (a host fault: out of file handles, a permission). */
  hint?: string;
}

/** A copy whose data is intact and whose recovery data is damaged: usable, and what fixes it. */
export interface RecoveryDamage {
  source: string;
  /** The copy's file or object. */
  location: string;
  problem: string;
  /** What to do about it (the command). */
  hint: string;
}

/** Repairs `file` into a scratch file in `workDir` (default: beside it); null when it cannot. */
export type CopyRepairer = (file: string, workDir?: string) => Promise<RepairedCopy | null>;

/** A source the listing already knew has no copy: nothing was tried there (a caller telling the passed-over sources leaves it out). */
export const NO_COPY_THERE = 'has no copy of this archive';

export interface FetchedCopy {
  file: string;
  source: string;
  repaired: { damagedBlocks: number; repairedBlocks: number } | null;
  /** The copy's recovery data is damaged (its data is intact): restored from, with this warning. */
  recoveryDamaged: RecoveryDamage | null;
  /** Files this fetch made (downloads, repaired copies): the caller removes them. */
  temporary: string[];
  /** Sources tried before this one, and why they were not used. */
  skipped: SourceProblem[];
}

export interface FetchOptions {
  sources: ArchiveSources;
  archiveDir: string;
  /** Source names in the order to try. */
  order: string[];
  /** Where downloads go (a directory on the file system where the copy is needed). */
  workDir: string;
  key?: EncryptionKey;
  /**
   * Verify the copy (default true); false: any copy that downloads is taken. 'on-doubt': the copy
   * is taken as it is (its reader checks every member) unless its manifest does not read or it
   * differs from the upload record; then it is verified, and repaired, like any other.
   */
  verify?: boolean | 'on-doubt';
  /** The first copy that downloads, as it is stored, whatever it holds: for a verify of that copy, which says what is wrong with it. */
  asStored?: boolean;
  repair?: CopyRepairer;
  /** Sources the listing could not reach, with the error. */
  unreachable?: SourceFailure[];
  onProblem?: (p: SourceProblem) => void;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /**
   * A local copy is read through a link of this run's own (`pinned`), so that a prune removing it meanwhile leaves the
   * reading whole; for callers that remove `temporary` and may run beside the database's job. An in-place restore holds
   * the lock (no prune runs), and its archive directory is inside the target: no link is left there.
   */
  pin?: boolean;
}

/**
 * Downloads the copy into `to`: parallel ranged reads (src/remote/ranged-download.ts), each
 * part resumed from the byte it reached when its connection drops, hashed on the way, fsynced.
 * A size other than the catalog's is an error (the file is removed).
 */
async function download(remote: RemoteSource, copy: ArchiveCopy, to: string, opts: FetchOptions): Promise<{ sha256: string; size: number }> {
  const item = `from ${remote.name}`;
  const got = await downloadRanged(remote.store, copy.key!, to, {
    size: copy.bytes,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onBytes: (doneBytes: number, totalBytes: number) => opts.onProgress!({ operation: 'restore', phase: 'download', doneBytes, totalBytes, item }) } : {}),
  });
  return { sha256: got.sha256, size: got.size };
}

export function recoveryDamage(id: string, copy: Pick<ArchiveCopy, 'source' | 'location'>, problem: string): RecoveryDamage {
  const hint =
    copy.source === LOCAL_SOURCE
      ? `\`bri archive repair ${id} --in-place\` writes the recovery data again from the intact data`
      : `the copy on ${copy.source} needs replacing: \`bri archive download ${id} <file> --source ${copy.source}\` gives a whole copy (recovery data written again), or upload a good local copy again (\`bri archive delete ${id} --source ${copy.source}\`, then \`bri archive upload ${id} --source ${copy.source}\`)`;
  return { source: copy.source, location: copy.location, problem, hint };
}

/** Checks a copy on disk; repairs it into a scratch file when it can. Throws a BriError saying what is wrong. */
async function check(file: string, entry: CatalogArchive, copy: ArchiveCopy, opts: FetchOptions, made: string[], doubt = false): Promise<Pick<FetchedCopy, 'file' | 'repaired' | 'recoveryDamaged'>> {
  const id = entry.manifest.archiveId;
  if (opts.verify === false || (opts.verify === 'on-doubt' && !doubt)) {
    const m = await readManifest(file).catch((err: unknown) => {
      if (opts.verify === false || !(isBriError(err, ErrorCodes.ARCHIVE_INVALID) || isBriError(err, ErrorCodes.ARCHIVE_CORRUPTED))) throw err;
      return null; // damaged: verified (and repaired) below
    });
    if (m !== null && m.archiveId !== id) throw new BriError(ErrorCodes.ARCHIVE_INVALID, `the copy holds archive ${m.archiveId}, not ${id}`);
    if (m !== null) return { file, repaired: null, recoveryDamaged: null };
  }
  // A wrong key is thrown from here (DECRYPTION_FAILED), never reported as damage.
  // Said of the copy's place, not of the pinned link or download read here.
  const report = await verifyArchive(file, { ...(opts.key ? { key: opts.key } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), name: copy.location });
  if (report.archiveId !== null && report.archiveId !== id && (report.ok || report.restorable)) {
    throw new BriError(ErrorCodes.ARCHIVE_INVALID, `the copy holds archive ${report.archiveId}, not ${id}`);
  }
  if (report.ok) return { file, repaired: null, recoveryDamaged: null };
  if (opts.repair) opts.onProgress?.({ operation: 'restore', phase: 'repair', doneBytes: 0, totalBytes: 0, item: `the copy on ${copy.source}` });
  const fixed = opts.repair ? await opts.repair(file, opts.workDir) : null;
  if (fixed) made.push(fixed.file);
  // Intact data is never refused because its recovery data is hurt: used with a warning. The copy used has its
  // recovery data written again (the tar may not even read to its end); without a repairer, the copy as it is.
  if (report.restorable) return { file: fixed?.file ?? file, repaired: null, recoveryDamaged: recoveryDamage(id, copy, report.problems[0]!) };
  if (fixed) {
    const again = await verifyArchive(fixed.file, opts.key ? { key: opts.key } : {});
    if (again.ok && again.archiveId === id) return { file: fixed.file, repaired: { damagedBlocks: fixed.damagedBlocks, repairedBlocks: fixed.repairedBlocks }, recoveryDamaged: null };
  }
  throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `the copy is damaged${opts.repair ? ' beyond repair' : ''}: ${report.problems[0] ?? report.error?.message ?? 'unknown damage'}`, {
    details: { archiveId: id, problems: report.problems },
  });
}

/**
 * The local copy under a name of this run's own (a hard link beside it, in the archive directory, removed with
 * the run's other scratch files; a killed run's is swept by the next fetch): a prune or keepLocal that removes
 * the archive's file while this run reads it (another process's, or the database's own job) leaves the reading
 * whole. A copy gone already is ARCHIVE_NOT_FOUND, and the next source is tried; where no link can be made the
 * copy is read in place.
 */
export async function pinned(file: string, workDir: string, id: string, made: string[]): Promise<string> {
  const link = scratchPath(workDir, `reading-${id}`);
  try {
    await fsp.link(file, link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return file;
    throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, 'the local copy was removed since the listing (a prune, keepLocal)', { details: { archiveId: id, file } });
  }
  made.push(link);
  return link;
}

/** The first good copy of `entry` in `opts.order`. Throws ARCHIVE_CORRUPTED / ARCHIVE_NOT_FOUND listing every source's reason. */
export async function fetchGoodCopy(entry: CatalogArchive, opts: FetchOptions): Promise<FetchedCopy> {
  const id = entry.manifest.archiveId;
  const skipped: SourceProblem[] = [];
  const skip = (p: SourceProblem) => {
    skipped.push(p);
    opts.onProblem?.(p);
  };
  // What killed runs left here is removed first; this run's own scratch files are removed by the caller.
  await sweepScratch(opts.workDir);
  await sweepScratch(opts.archiveDir);
  // Scratch goes where the copy is needed; a directory not made yet (a first archive directory) is not made for it.
  const work = { ...opts, workDir: await existingDir(opts.workDir) };
  for (const source of opts.order) {
    const down = opts.unreachable?.find((u) => u.source === source);
    if (down) {
      skip({ source, reason: `unreachable: ${down.error.message}`, code: down.error.code });
      continue;
    }
    const copy = entry.copies.find((c) => c.source === source);
    if (!copy) {
      // Known from the listing (keepLocal removed it, say): nothing was tried, so nothing is told as it goes (onProblem); the result still lists it.
      skipped.push({ source, reason: NO_COPY_THERE, code: ErrorCodes.ARCHIVE_NOT_FOUND });
      continue;
    }
    const made: string[] = [];
    let doubt = false;
    try {
      let file: string;
      if (source === LOCAL_SOURCE) file = opts.pin === true ? await pinned(copy.file!, path.dirname(copy.file!), id, made) : copy.file!;
      else {
        const remote = opts.sources.remote(source)!;
        file = scratchPath(work.workDir, `download-${id}-from-${source}`);
        made.push(file);
        const got = await download(remote, copy, file, opts);
        // A mismatch with our own upload record is damage; PAR2 may still repair it, so it is checked below.
        const rec = await readCopyRecord(opts.archiveDir, id, source);
        doubt = rec !== null && isRecordedHere(rec, remote) && (rec.sha256 !== got.sha256 || rec.size !== got.size);
        if (doubt && opts.verify === false && opts.asStored !== true) {
          throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `the copy's SHA-256 differs from the one confirmed at upload`, { details: { expected: rec!.sha256, actual: got.sha256 } });
        }
      }
      const good = opts.asStored ? { file, repaired: null, recoveryDamaged: null } : await check(file, entry, copy, work, made, doubt);
      return { ...good, source, temporary: made, skipped };
    } catch (err) {
      await Promise.all(made.map((f) => fsp.rm(f, { force: true })));
      if (!isBriError(err) && !(err instanceof Error)) throw err;
      // The key is the caller's: another copy would not open with it either.
      if (isBriError(err, ErrorCodes.DECRYPTION_FAILED) || isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING)) throw err;
      const e = err as BriError;
      const thaw = isColdObject(e) ? `; \`bri archive thaw ${id} --source ${source}\` asks for it back` : '';
      // A system call of this machine that failed (a scratch file out of handles or room) is its IO_ERROR, with what to do.
      const typed = typedIoError(e, `fetching ${id} from ${source}`);
      skip({ source, reason: e.message + thaw, ...(isBriError(typed) ? { code: typed.code, ...(typed.hint ? { hint: typed.hint } : {}) } : {}) });
    }
  }
  // Sources this fetch was not asked to try (--source) may hold a whole copy: "every copy failed" would be false.
  throw noGoodCopy(id, skipped, opts.sources.order.filter((s) => !opts.order.includes(s)));
}

/** Failures to get a copy at all (the network, the source, the disk, a cancel): nothing is known about the copy itself. */
const NOT_FETCHED: ReadonlySet<string> = new Set([ErrorCodes.REMOTE_ERROR, ErrorCodes.REMOTE_NOT_FOUND, ErrorCodes.IO_ERROR, ErrorCodes.CANCELLED]);

/**
 * Why no copy could be used, by what was found: a copy found damaged (or holding something else) is
 * ARCHIVE_CORRUPTED, and an earlier archive may be the way out; copies that could not be fetched (a
 * connection cut, a source down), none found damaged, are the sources' failure (REMOTE_ERROR when they
 * are all the remotes'): trying again may well work; no copy anywhere is ARCHIVE_NOT_FOUND.
 */
function noGoodCopy(id: string, skipped: SourceProblem[], untried: readonly string[]): BriError {
  const failed = skipped.filter((p) => p.code !== ErrorCodes.ARCHIVE_NOT_FOUND);
  const damaged = failed.some((p) => p.code !== undefined && !NOT_FETCHED.has(p.code));
  const remote = failed.every((p) => p.code?.startsWith('REMOTE_'));
  const code = failed.length === 0 ? ErrorCodes.ARCHIVE_NOT_FOUND : damaged ? ErrorCodes.ARCHIVE_CORRUPTED : remote ? ErrorCodes.REMOTE_ERROR : ((failed.find((p) => p.code !== undefined)?.code ?? ErrorCodes.IO_ERROR) as ErrorCode);
  const hint =
    failed.length === 0
      ? 'No source holds it; `bri archive list` shows where each archive is.'
      : damaged && untried.length > 0
        ? `Only ${skipped.map((p) => p.source).join(', ')} ${skipped.length > 1 ? 'were' : 'was'} tried: ${untried.join(', ')} may hold a whole copy (\`bri archive list\` shows where the copies are; with no --source every source is tried in turn).`
      : damaged
        ? 'Every copy failed; `bri archive verify` and `bri archive repair` on a copy may tell more, or restore an earlier archive.'
        : `${failed.find((p) => p.hint !== undefined)?.hint?.concat(' ') ?? ''}No copy was found damaged: none could be fetched (each source's reason says why; a copy in an archive tier is thawed first). Try again once the network or the source is back.`;
  return new BriError(code, `no good copy of archive ${id}: ${skipped.map((p) => `${p.source}: ${p.reason}`).join('; ')}`, { hint, details: { archiveId: id, tried: skipped } });
}
